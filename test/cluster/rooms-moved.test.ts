/**
 * A lost room lease must not split a call. When Redis is away from a room's node past the lease
 * and the room is placed again on another node (a join there while the old mapping lapsed), the old
 * node's next renewal is answered "another node holds it": it ends its members of the room at once
 * (cell sessions; WebRTC edge sessions after a `bye` on the roster channel), and the clients, which
 * rejoin by themselves on downlink silence through their relay list, end up on the new owner: one
 * call again. Two in-process nodes and one real redis-server; the re-placement is written into
 * Redis as the other node's placement would have written it (the mapping -> that node's id).
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallClient, ready, roomIdOf } from '../../src/client/node.js';
import { roomHashOf } from '../../src/media/store/redis-room-registry.js';
import { EdgeClient } from '../../loadtest/rtc/edge-client.js';
import { expectAllDelivered, seqOf, talk, type Party } from '../media/call-helpers.js';
import { sleep } from '../media/harness.js';
import { startRedis, type RedisProcess } from '../helpers/redis-server.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';

let redis: RedisProcess;
let a: TestRelay;
let b: TestRelay;

const cluster = { leaseTtlMs: 3000, leaseRenewMs: 1000 };

beforeAll(async () => {
  await ready();
  redis = await startRedis();
  const file = { store: 'redis', redis: { url: redis.url }, media: { enabled: true }, rtc: { enabled: true }, cluster };
  a = await startTestRelay(file, { logLevel: 'warn' });
  b = await startTestRelay(file, { logLevel: 'warn' });
  await sleep(cluster.leaseRenewMs * 1.5); // each node has read the other's registration
}, 30_000);
afterAll(async () => {
  await a?.dispose();
  await b?.dispose();
  await redis?.stop();
});

/** The node id a relay registered under (`{nodes}:n:<id>` holds its record with its URL). */
async function nodeIdOf(r: Redis, relay: TestRelay): Promise<string> {
  for (const key of await r.keys('xr:{nodes}:n:*')) {
    if ((JSON.parse((await r.get(key))!) as { url: string }).url === relay.url) return key.slice('xr:{nodes}:n:'.length);
  }
  throw new Error(`no registration for ${relay.url}`);
}

describe('a lost room lease', () => {
  it('the old owner ends its members of the room (3 cell clients, 1 werift member): the cells rejoin on the new owner, one call again; the edge member is told', async () => {
    const secret = randomBytes(32);
    const room = roomIdOf(secret);
    const parties: Party[] = [];
    for (let i = 0; i < 3; i++) {
      const call = await CallClient.join({ relay: [a.url, b.url], callSecret: secret, profile: 'audio', transport: 'udp' });
      const p: Party = { call, got: new Map() };
      call.on('frame', (f) => {
        const list = p.got.get(f.slot) ?? [];
        list.push(seqOf(f.data));
        p.got.set(f.slot, list);
      });
      parties.push(p);
    }
    const edge = new EdgeClient(3);
    const r = new Redis({ host: '127.0.0.1', port: redis.port });
    try {
      expect((await edge.join(a.url, Buffer.from(room).toString('base64url'), 'audio')).status).toBe(201);
      await edge.connected();
      const oldUrl = parties[0]!.call.relay;
      expect(parties.every((p) => p.call.relay === oldUrl) && edge.relay === oldUrl).toBe(true);
      const [old, next] = oldUrl === a.url ? [a, b] : [b, a];
      await expect.poll(() => parties.every((p) => p.call.roster.length === 4), { timeout: 5000 }).toBe(true);

      // The room is placed again on the other node (long enough that its own renewals take over).
      await r.set(`xr:{room:${roomHashOf(room)}}`, await nodeIdOf(r, next), 'PX', 30_000);
      const t0 = performance.now();
      await expect.poll(() => old.metric('xrelay_cluster_moved_sessions_total'), { timeout: 5000, interval: 20 }).toBe(4);
      const endedAfter = performance.now() - t0;
      expect(old.metric('xrelay_cluster_leases_total{result="lost"}')).toBe(1);
      // the edge session ends just after its `bye` went out
      await expect.poll(() => old.metric('xrelay_rtc_sessions_closed_total{reason="room_moved"}'), { timeout: 5000 }).toBe(1);
      await expect.poll(() => [old.media!.core.sessionCount, old.rtc!.sessionCount], { timeout: 5000 }).toEqual([0, 0]);
      await expect.poll(() => edge.rosters.some((m) => (m as { type?: string }).type === 'bye'), { timeout: 5000 }).toBe(true);

      await expect.poll(() => parties.every((p) => p.call.relay === next.url && p.call.roster.length === 3), { timeout: 20_000, interval: 20 }).toBe(true);
      console.log(`lost lease: old owner ended its 4 members ${endedAfter.toFixed(0)} ms after the re-placement; the 3 cell clients were in one call on the new owner ${(performance.now() - t0).toFixed(0)} ms after it`);
      expect(next.media!.core.sessionCount).toBe(3);
      expect(parties.every((p) => p.call.stats.rejoins === 1)).toBe(true);
      for (const p of parties) p.got.clear();
      await talk(parties, 20, 40);
      expect(expectAllDelivered(parties, 20)).toEqual([]);

      // The edge member's app joins again through the old node: redirected to the new owner.
      const again = new EdgeClient(3);
      try {
        expect((await again.join(old.url, Buffer.from(room).toString('base64url'), 'audio')).status).toBe(201);
        expect(again.relay).toBe(next.url);
      } finally {
        await again.close();
      }
    } finally {
      r.disconnect();
      await edge.close();
      for (const p of parties) await p.call.leave().catch(() => undefined);
    }
  }, 60_000);
});
