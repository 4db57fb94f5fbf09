/**
 * The WebRTC edge in cluster mode (README "Rooms in a cluster"): two in-process relay nodes (media and
 * edge on) sharing one real redis-server. An edge join goes through the same room placement as cell
 * joins: the node that does not hold the room answers 409 room_elsewhere naming the owner (the cell
 * join's body shape), the werift client follows it and lands there; media flows between members that
 * asked different nodes; an edge-only room keeps its lease past the TTL and counts in the node's
 * load; a mixed room (a cell client and a werift member that asked different nodes) is one room on
 * one node, both ways round; draining and Redis away answer node_draining and store_unavailable.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallClient, CallKeys, ready, roomIdOf } from '../../src/client/node.js';
import { openedTags, startSealedAudio } from '../bridge/sealed-members.js';
import { EdgeClient, roomId, waitFor } from '../../loadtest/rtc/edge-client.js';
import { sleep } from '../media/harness.js';
import { startRedis, type RedisProcess } from '../helpers/redis-server.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';

let redis: RedisProcess;
let a: TestRelay;
let b: TestRelay;

const cluster = { leaseTtlMs: 3000, leaseRenewMs: 1000 };
const APP = 'http://app.test:8080';

beforeAll(async () => {
  await ready();
  redis = await startRedis();
  const file = { store: 'redis', redis: { url: redis.url }, media: { enabled: true }, rtc: { enabled: true }, cluster, corsOrigins: [APP] };
  a = await startTestRelay(file, { logLevel: 'warn' });
  b = await startTestRelay(file, { logLevel: 'warn' });
  await sleep(cluster.leaseRenewMs * 1.5); // each node has read the other's registration
}, 30_000);
afterAll(async () => {
  await a?.dispose();
  await b?.dispose();
  await redis?.stop();
});

/** Both nodes empty and each one's view says so: a new room joined through X is placed on X (ties go to the receiving node). */
async function idle(): Promise<void> {
  await expect.poll(() => a.media!.core.sessionCount + b.media!.core.sessionCount + a.rtc!.sessionCount + b.rtc!.sessionCount, { timeout: 15_000 }).toBe(0);
  await sleep(cluster.leaseRenewMs * 2.2);
}

async function rawOffer(relay: string, room: string, sdp: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(`${relay}/v1/rtc/rooms/${room}?profile=audio`, { method: 'POST', headers: { 'content-type': 'application/sdp', ...headers }, body: sdp });
  const text = await res.text();
  return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text, headers: res.headers };
}

async function nodeRecords(): Promise<Array<{ url: string; sessions: number; rooms: number }>> {
  const r = new Redis({ host: '127.0.0.1', port: redis.port });
  try {
    const keys = await r.keys('xr:{nodes}:n:*');
    return Promise.all(keys.map(async (k) => JSON.parse((await r.get(k))!) as { url: string; sessions: number; rooms: number }));
  } finally {
    r.disconnect();
  }
}

async function roomKeys(): Promise<string[]> {
  const r = new Redis({ host: '127.0.0.1', port: redis.port });
  try {
    return await r.keys('xr:{room:*');
  } finally {
    r.disconnect();
  }
}

describe('the WebRTC edge in cluster mode', () => {
  it('a join on the other node is answered 409 room_elsewhere naming the owner; following it lands there; media flows; the edge-only room keeps its lease and counts in the load', async () => {
    await idle();
    const room = roomId();
    const first = new EdgeClient(2);
    const second = new EdgeClient(2);
    const third = new EdgeClient(2);
    try {
      first.maxRedirects = 0;
      expect((await first.join(a.url, room)).status).toBe(201); // a new room through A, both idle: placed on A
      expect(first.relay).toBe(a.url);

      // the same room through B: 409 in the cell join's shape, with the CORS header a page needs to read it
      const offer = await second.offer();
      const raw = await rawOffer(b.url, room, offer, { origin: APP });
      expect(raw.status).toBe(409);
      expect(raw.body).toMatchObject({ error: { code: 'room_elsewhere' }, relay: a.url });
      expect(raw.headers.get('access-control-allow-origin')).toBe(APP);
      expect(b.rtc!.sessionCount).toBe(0);

      // the client follows it: one hop, lands on A, and the two members hear each other
      expect((await second.join(b.url, room, 'audio', offer)).status).toBe(201);
      expect(second.asked).toEqual([b.url, a.url]);
      expect(second.relay).toBe(a.url);
      expect([a.rtc!.sessionCount, b.rtc!.sessionCount]).toEqual([2, 0]);
      await Promise.all([first.connected(), second.connected()]);
      first.startSending('first');
      second.startSending('second');
      await waitFor(() => [...first.sources().values()].some((s) => s.has('second')) && [...second.sources().values()].some((s) => s.has('first')), 15_000, 'both members hear each other');

      // A's load as the cluster sees it: its edge sessions, and the cells of their bridge (mixed rooms)
      await expect.poll(async () => (await nodeRecords()).find((n) => n.url === a.url)?.sessions, { timeout: 5000 }).toBe(a.rtc!.sessionCount + a.media!.core.sessionCount);
      expect(a.rtc!.sessionCount + a.media!.core.sessionCount).toBe(4);

      // Past the lease TTL the room is still A's: its edge members keep the lease renewed.
      await sleep(cluster.leaseTtlMs + cluster.leaseRenewMs);
      expect((await third.join(b.url, room)).status).toBe(201);
      expect(third.relay).toBe(a.url);
      expect(b.metric('xrelay_rtc_joins_total{result="room_elsewhere"}')).toBeGreaterThanOrEqual(2);
      expect(b.metric('xrelay_cluster_joins_total{result="redirected"}')).toBeGreaterThanOrEqual(2);

      // Leaving: the DELETE goes to the node that answered (the Location is relative to it).
      expect(await second.leave()).toBe(204);
      expect(await third.leave()).toBe(204);
      expect(await first.leave()).toBe(204);
      expect(a.rtc!.sessionCount).toBe(0);
      // the room emptied: A deletes its mapping at its next renewal
      await expect.poll(() => roomKeys(), { timeout: 5000 }).toEqual([]);
    } finally {
      await Promise.all([first, second, third].map((c) => c.close()));
    }
  }, 60_000);

  for (const firstIn of ['cell', 'edge'] as const) {
    it(`a mixed room across nodes (${firstIn === 'cell' ? 'the cell client' : 'the werift member'} first): a cell client via B and a werift member via A end on one node and hear each other`, async () => {
      await idle();
      const secret = randomBytes(32);
      const keys = new CallKeys(secret);
      const room = Buffer.from(roomIdOf(secret)).toString('base64url');
      const edge = new EdgeClient(3);
      let call: CallClient | undefined;
      let stopEdge = (): void => undefined;
      let talk: NodeJS.Timeout | undefined;
      const joinCell = async (): Promise<CallClient> => CallClient.join({ relay: b.url, callSecret: secret, profile: 'audio', transport: 'udp', packetBytes: 80 });
      try {
        if (firstIn === 'cell') call = await joinCell();
        expect((await edge.join(a.url, room, 'audio')).status).toBe(201);
        if (firstIn === 'edge') call = await joinCell();
        const owner = firstIn === 'cell' ? b : a;
        expect(call!.relay).toBe(owner.url);
        expect(edge.relay).toBe(owner.url);
        expect(edge.asked).toEqual(firstIn === 'cell' ? [a.url, b.url] : [a.url]);
        const other = owner === a ? b : a;
        expect(other.rtc!.sessionCount + other.media!.core.sessionCount).toBe(0);

        await edge.connected();
        stopEdge = startSealedAudio(edge, keys, 0xe0).stop;
        const heard = new Map<number, number>();
        call!.on('frame', (f) => heard.set(f.data[0]!, (heard.get(f.data[0]!) ?? 0) + 1));
        talk = setInterval(() => call!.send(new Uint8Array(60).fill(0xc0)), 20);
        await waitFor(() => (heard.get(0xe0) ?? 0) >= 20 && (openedTags(edge, keys).get(0xc0) ?? 0) >= 20, 20_000, 'the cell client and the werift member hear each other');
        console.log(`mixed room on one node (${firstIn} first): cell client opened ${heard.get(0xe0)} edge frames, edge member opened ${openedTags(edge, keys).get(0xc0)} cell frames`);
        expect(call!.roster.length).toBe(2); // the edge member is a member of the cell room (its bridge slot)
        expect(call!.stats.e2eRejected).toBe(0);
      } finally {
        clearInterval(talk);
        stopEdge();
        await call?.leave();
        await edge.leave().catch(() => 0);
        await edge.close();
      }
    }, 60_000);
  }

  it('draining: a new room through a node that drains goes to the other; with both draining, 503 node_draining', async () => {
    await idle();
    const c = new EdgeClient(2);
    try {
      expect((await fetch(`${a.url}/v1/admin/drain`, { method: 'POST' })).status).toBe(200);
      await sleep(cluster.leaseRenewMs * 2.2); // B's view shows A draining
      expect((await c.join(a.url, roomId())).status).toBe(201);
      expect(c.relay).toBe(b.url);
      expect(await c.leave()).toBe(204);
      expect((await fetch(`${b.url}/v1/admin/drain`, { method: 'POST' })).status).toBe(200);
      await sleep(cluster.leaseRenewMs * 2.2);
      const offer = await new EdgeClient(2).offer();
      for (const node of [a, b]) {
        const r = await rawOffer(node.url, roomId(), offer);
        expect(r.status).toBe(503);
        expect(r.body.error.code).toBe('node_draining');
        expect(r.headers.get('retry-after')).not.toBeNull();
      }
      expect(a.metric('xrelay_rtc_joins_total{result="node_draining"}')).toBe(1);
    } finally {
      await fetch(`${a.url}/v1/admin/drain`, { method: 'DELETE' });
      await fetch(`${b.url}/v1/admin/drain`, { method: 'DELETE' });
      await c.close();
    }
  }, 60_000);

  it('Redis away: a new room is refused 503 store_unavailable; the room with edge members on its node still takes joins there', async () => {
    await idle();
    const room = roomId();
    const clients = [new EdgeClient(2), new EdgeClient(2)];
    try {
      expect((await clients[0]!.join(a.url, room)).status).toBe(201);
      await redis.kill9();
      const offer = await new EdgeClient(2).offer();
      const fresh = await rawOffer(a.url, roomId(), offer);
      expect(fresh.status).toBe(503);
      expect(fresh.body.error.code).toBe('store_unavailable');
      expect(fresh.headers.get('retry-after')).not.toBeNull();
      expect((await clients[1]!.join(a.url, room)).status).toBe(201); // A has members of it: served without Redis
      expect(a.rtc!.sessionCount).toBe(2);
    } finally {
      await redis.restart();
      await Promise.all(clients.map(async (c) => (await c.leave().catch(() => 0), await c.close())));
    }
  }, 60_000);
});
