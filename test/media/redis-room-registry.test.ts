/**
 * The room registry's scripts on real Redis, one instance and a 3-master Redis Cluster (the `{nodes}`
 * tag keeps every registration in one slot, each room has its own): registration and the live view,
 * expiry of a node that stops renewing, atomic placement (a live owner kept, a dead one replaced, one
 * winner among concurrent claims), renewal, release, graceful leave.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, Redis } from 'ioredis';
import type { NodeRecord } from '../../src/media/codec/node-record.js';
import { RedisRoomRegistry, roomHashOf } from '../../src/media/store/redis-room-registry.js';
import { startRedis, startRedisCluster } from '../helpers/redis-server.js';
import { redisOptions } from '../helpers/redis-store.js';

const rec = (id: string, sessions = 0, draining = false): NodeRecord => ({ id, url: `http://${id}.test`, udp: { host: '127.0.0.1', port: 9 }, sessions, rooms: 0, draining });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function describeOn(name: string, start: () => Promise<{ url: string; cluster: boolean; stop(): Promise<void> }>): void {
  describe(`room registry on ${name}`, () => {
    let server: { url: string; cluster: boolean; stop(): Promise<void> };
    let a: RedisRoomRegistry;
    let b: RedisRoomRegistry;
    beforeAll(async () => {
      server = await start();
      const opts = redisOptions(server.url, { cluster: server.cluster, keyPrefix: 'rr:' });
      a = new RedisRoomRegistry(opts);
      b = new RedisRoomRegistry(opts);
    }, 60_000);
    afterAll(async () => {
      await a?.close();
      await b?.close();
      await server?.stop();
    });

    it('registers nodes, returns every live record, and forgets a node that stops renewing after its TTL', async () => {
      await a.heartbeat(rec('aa', 3), 60_000);
      const view = await b.heartbeat(rec('bb', 1, true), 400);
      expect(view.map((n) => n.id).sort()).toEqual(['aa', 'bb']);
      expect(view.find((n) => n.id === 'bb')).toEqual(rec('bb', 1, true));
      await sleep(600);
      expect((await a.heartbeat(rec('aa', 3), 60_000)).map((n) => n.id)).toEqual(['aa']);
      await a.leave('aa');
      expect((await b.heartbeat(rec('bb'), 60_000)).map((n) => n.id)).toEqual(['bb']);
      await b.leave('bb');
    });

    it('places a room atomically: one winner among concurrent claims, a live owner kept, a dead one replaced', async () => {
      const room = roomHashOf(new Uint8Array(32).fill(1));
      const owners = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).place(room, i % 2 === 0 ? 'aa' : 'bb', ['aa', 'bb'], 60_000)));
      expect(new Set(owners).size).toBe(1);
      const winner = owners[0]!;
      const loser = winner === 'aa' ? 'bb' : 'aa';
      expect(await b.place(room, loser, ['aa', 'bb'], 60_000)).toBe(winner);
      // the owner is not among the live ids any more: the candidate takes the room
      expect(await b.place(room, loser, [loser], 60_000)).toBe(loser);
    });

    it('renews only for the holder, takes a lapsed room back, releases only its own', async () => {
      const room = roomHashOf(new Uint8Array(32).fill(2));
      expect(await a.place(room, 'aa', ['aa'], 300)).toBe('aa');
      expect(await b.renew(room, 'bb', 300)).toBe(false);
      expect(await a.renew(room, 'aa', 300)).toBe(true);
      await sleep(500); // lapsed: nobody holds it
      expect(await a.renew(room, 'aa', 60_000)).toBe(true);
      await b.release(room, 'bb');
      expect(await b.place(room, 'bb', ['aa', 'bb'], 60_000)).toBe('aa');
      await a.release(room, 'aa');
      expect(await b.place(room, 'bb', ['aa', 'bb'], 60_000)).toBe('bb');
    });

    it('keys: node records under one {nodes} tag, rooms under their own tag, by hash (no room id)', async () => {
      const roomId = new Uint8Array(32).fill(3);
      await a.heartbeat(rec('aa'), 60_000);
      await a.place(roomHashOf(roomId), 'aa', ['aa'], 60_000);
      const keys = await allKeys(server.url, server.cluster);
      expect(keys.filter((k) => k.startsWith('rr:{nodes}')).sort()).toEqual(['rr:{nodes}:ids', 'rr:{nodes}:n:aa']);
      expect(keys).toContain(`rr:{room:${roomHashOf(roomId)}}`);
      expect(keys.some((k) => k.includes(Buffer.from(roomId).toString('base64url')))).toBe(false);
      expect(roomHashOf(roomId)).toMatch(/^[A-Za-z0-9_-]{22}$/);
    });
  });
}

async function allKeys(url: string, cluster: boolean): Promise<string[]> {
  const u = new URL(url);
  if (!cluster) {
    const r = new Redis({ host: u.hostname, port: Number(u.port) });
    try {
      return await r.keys('rr:*');
    } finally {
      r.disconnect();
    }
  }
  const c = new Cluster([{ host: u.hostname, port: Number(u.port) }]);
  try {
    await new Promise((r) => c.once('ready', r));
    const out: string[] = [];
    for (const n of c.nodes('master')) out.push(...(await n.keys('rr:*')));
    return out;
  } finally {
    c.disconnect();
  }
}

describeOn('one Redis', async () => {
  const r = await startRedis();
  return { url: r.url, cluster: false, stop: () => r.stop() };
});
describeOn('a 3-master Redis Cluster', async () => {
  const c = await startRedisCluster();
  return { url: c.url, cluster: true, stop: () => c.stop() };
});
