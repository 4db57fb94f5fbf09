/**
 * The Redis store's expiry index on real redis-server processes (one instance, a 3-master Cluster):
 * every stored envelope is reachable by a sweep, including one whose put was refused after the
 * write (WAIT short of replicas), and a swept mailbox's entry goes back to its oldest arrival.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RelayError } from '../../src/errors.js';
import type { StoreLimits } from '../../src/envelope/store/envelope-store.js';
import { RedisEnvelopeStore } from '../../src/envelope/store/redis-store.js';
import { type RedisCluster, type RedisProcess, startRedis, startRedisCluster } from '../helpers/redis-server.js';
import { redisOptions } from '../helpers/redis-store.js';

const LIMITS: StoreLimits = { mailboxMaxCount: 1000, mailboxMaxBytes: 1 << 20, storeMaxBytes: 1 << 30 };
const T0 = Date.parse('2026-06-01T00:00:00Z');
const DAY = 86_400_000;

let single: RedisProcess;
let cluster: RedisCluster;
beforeAll(async () => {
  [single, cluster] = await Promise.all([startRedis(), startRedisCluster()]);
}, 60_000);
afterAll(async () => {
  await single?.stop();
  await cluster?.stop();
});

describe('Redis Cluster, durability wait: a put refused after its write', () => {
  it('is still indexed, so the sweep expires it', async () => {
    // No replica: WAIT answers 0, so every put is refused 503 store_unavailable after the write.
    const s = await RedisEnvelopeStore.open(redisOptions(cluster.url, { cluster: true, durability: 'wait', waitReplicas: 1, waitTimeoutMs: 50 }), LIMITS);
    try {
      const m = randomBytes(32);
      const code = await s.put(m, randomBytes(256), T0).then(
        () => 'ok',
        (err: RelayError) => err.code,
      );
      expect(code).toBe('store_unavailable');
      expect((await s.list(m, undefined, 10)).length).toBe(1); // the copy stays on the primary (documented)
      expect(await s.expire(T0 + 8 * DAY)).toBe(1);
      expect((await s.list(m, undefined, 10)).length).toBe(0);
    } finally {
      await s.close();
    }
  });
});
