/**
 * Room placement over two in-process relay nodes sharing one real redis-server, and a 3-master Redis
 * Cluster (cluster mode, issue 13): clients joining one room through different nodes end up in one call on one node, every
 * directed pair delivers; Redis holds only room hashes -> node ids and node records; a drained node
 * takes no new room (a join there is redirected to the other node) while its call goes on.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallClient } from '../../src/client/call/call-client.js';
import { roomIdOf } from '../../src/client/call/e2e-keys.js';
import { expectAllDelivered, leaveAll, seqOf, talk, type Party } from '../media/call-helpers.js';
import { sleep } from '../media/harness.js';
import { startRedis, startRedisCluster, type RedisProcess } from '../helpers/redis-server.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';

let redis: RedisProcess;
let a: TestRelay;
let b: TestRelay;

const cluster = { leaseTtlMs: 3000, leaseRenewMs: 1000 };
const APP = 'http://app.test:8080';

beforeAll(async () => {
  redis = await startRedis();
  const file = { store: 'redis', redis: { url: redis.url }, media: { enabled: true }, cluster, corsOrigins: [APP] };
  a = await startTestRelay(file, { logLevel: 'warn' });
  b = await startTestRelay(file, { logLevel: 'warn' });
  // both registrations seen by both nodes (each reads the others' at its renewal)
  await sleep(cluster.leaseRenewMs * 1.5);
}, 30_000);
afterAll(async () => {
  await a?.dispose();
  await b?.dispose();
  await redis?.stop();
});

async function party(relay: string, callSecret: Uint8Array): Promise<Party> {
  const call = await CallClient.join({ relay, callSecret, profile: 'audio-room' });
  const got = new Map<number, number[]>();
  call.on('frame', (f) => {
    const list = got.get(f.slot) ?? [];
    list.push(seqOf(f.data));
    got.set(f.slot, list);
  });
  return { call, got };
}

async function rosterOf(parties: Party[], n: number): Promise<void> {
  await expect.poll(() => parties.every((p) => p.call.roster.length === n), { timeout: 5000 }).toBe(true);
}

async function joinRaw(relay: string, room: Uint8Array, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(`${relay}/v1/media/join`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ room: Buffer.from(room).toString('base64url'), publicKey: randomBytes(32).toString('base64url'), profile: 'audio' }) });
  return { status: res.status, body: await res.json(), headers: res.headers };
}

describe('rooms across two nodes', () => {
  it('6 clients joining one room through two nodes (3 each) share one call: all 30 directed pairs deliver', async () => {
    const secret = randomBytes(32);
    const parties: Party[] = [];
    for (let i = 0; i < 6; i++) parties.push(await party(i % 2 === 0 ? a.url : b.url, secret));
    await rosterOf(parties, 6);
    const owner = parties[0]!.call.relay;
    expect(parties.every((p) => p.call.relay === owner)).toBe(true);
    const [onA, onB] = [a.media!.core.sessionCount, b.media!.core.sessionCount];
    expect([onA, onB].sort()).toEqual([0, 6]);
    // the three clients given the other node's URL were redirected once each
    const other = owner === a.url ? b : a;
    expect(other.metric('xrelay_cluster_joins_total{result="redirected"}')).toBe(3);
    await talk(parties, 20, 40);
    expect(expectAllDelivered(parties, 20)).toEqual([]);

    // What Redis holds: node records and one room hash -> node id, nothing else.
    const r = new Redis({ host: '127.0.0.1', port: redis.port });
    try {
      const keys = (await r.keys('xr:{room:*')).concat(await r.keys('xr:{nodes}*'));
      const roomKeys = keys.filter((k) => k.startsWith('xr:{room:'));
      expect(roomKeys).toHaveLength(1);
      expect(roomKeys[0]).not.toContain(Buffer.from(roomIdOf(secret)).toString('base64url'));
      const ownerId = await r.get(roomKeys[0]!);
      expect(ownerId).toMatch(/^[0-9a-f]{16}$/);
      const ttl = await r.pttl(roomKeys[0]!);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(cluster.leaseTtlMs);
      for (const k of keys.filter((k) => k.startsWith('xr:{nodes}:n:'))) {
        const rec = JSON.parse((await r.get(k))!) as Record<string, unknown>;
        expect(Object.keys(rec).sort()).toEqual(['draining', 'id', 'rooms', 'sessions', 'udp', 'url']);
      }
    } finally {
      r.disconnect();
    }
    await Promise.all(parties.map((p) => p.call.leave()));
  }, 30_000);

  it('a drained node takes no new room (its joins are redirected), while its existing call goes on', async () => {
    // an existing call on A: the first join through A with both nodes idle places the room on A (ties go to the receiving node)
    await expect.poll(() => a.media!.core.sessionCount + b.media!.core.sessionCount, { timeout: 15_000 }).toBe(0);
    await sleep(cluster.leaseRenewMs * 1.2); // both views show both nodes idle
    const secret = randomBytes(32);
    const existing = [await party(a.url, secret), await party(a.url, secret)];
    await rosterOf(existing, 2);
    expect(existing.every((p) => p.call.relay === a.url)).toBe(true);

    const drain = await fetch(`${a.url}/v1/admin/drain`, { method: 'POST' });
    expect(drain.status).toBe(200);
    expect((await (await fetch(`${a.url}/readyz`)).json()).status).toBe('draining');
    expect((await (await fetch(`${a.url}/healthz`)).json())).toMatchObject({ status: 'ok', draining: true });

    // a new room through A: 409 room_elsewhere naming B; the SDK lands on B
    // (from a page of a listed origin: the 409 carries the CORS header, so the browser SDK reads `relay`)
    const raw = await joinRaw(a.url, randomBytes(32), { origin: APP });
    expect(raw.status).toBe(409);
    expect(raw.body).toMatchObject({ error: { code: 'room_elsewhere' }, relay: b.url });
    expect(raw.headers.get('access-control-allow-origin')).toBe(APP);
    const freshSecret = randomBytes(32);
    const fresh = [await party(a.url, freshSecret), await party(a.url, freshSecret), await party(b.url, freshSecret)];
    expect(fresh.every((p) => p.call.relay === b.url)).toBe(true);
    // B now carries 3 sessions, draining A 2: once B has read A's draining record (A's next renewal,
    // then B's), B places a new room on itself although A is less loaded
    await sleep(cluster.leaseRenewMs * 3);
    const viaB = await party(b.url, randomBytes(32));
    expect(viaB.call.relay).toBe(b.url);

    // the existing call on A goes on, and takes a new member (the room is A's)
    const late = await party(b.url, secret);
    expect(late.call.relay).toBe(a.url);
    const call = [...existing, late];
    await rosterOf(call, 3);
    await talk(call, 15, 40);
    expect(expectAllDelivered(call, 15)).toEqual([]);

    // the cluster metrics, as Prometheus reads them (promtool lint), while A drains
    const text = a.metrics.render();
    expect(text).toContain('xrelay_cluster_draining 1');
    expect(text).toContain('xrelay_cluster_nodes 2');
    expect(text).toMatch(/xrelay_cluster_rooms_held [1-9]/);
    const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 20_000 });
    expect({ status: lint.status, out: `${lint.stdout}${lint.stderr}`.trim() }).toEqual({ status: 0, out: '' });

    await leaveAll([...call, ...fresh, viaB]);
    expect((await fetch(`${a.url}/v1/admin/drain`, { method: 'DELETE' })).status).toBe(200);
    expect((await (await fetch(`${a.url}/readyz`)).json()).status).toBe('ready');
  }, 40_000);
});

describe('rooms across two nodes on a 3-master Redis Cluster', () => {
  it('joins through both nodes land in one call on one node and every pair delivers (node records in the {nodes} slot, room keys spread)', async () => {
    const rc = await startRedisCluster();
    const file = { store: 'redis', redis: { url: rc.url, cluster: true }, media: { enabled: true }, cluster };
    const x = await startTestRelay(file, { logLevel: 'warn' });
    const y = await startTestRelay(file, { logLevel: 'warn' });
    try {
      await sleep(cluster.leaseRenewMs * 1.5);
      const secret = randomBytes(32);
      const parties = [await party(x.url, secret), await party(y.url, secret), await party(y.url, secret)];
      await rosterOf(parties, 3);
      expect(new Set(parties.map((p) => p.call.relay)).size).toBe(1);
      await talk(parties, 10, 40);
      expect(expectAllDelivered(parties, 10)).toEqual([]);
      expect(x.metric('xrelay_cluster_nodes')).toBe(2);
      await leaveAll(parties);
    } finally {
      await x.dispose();
      await y.dispose();
      await rc.stop();
    }
  }, 90_000);
});
