/**
 * The Redis store's expiry index on real redis-server processes (one instance, a 3-master Cluster):
 * every stored envelope is reachable by a sweep, including one whose put was refused after the
 * write (WAIT short of replicas), and a swept mailbox's entry goes back to its oldest arrival.
 */
import { randomBytes } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { RelayError } from '../../src/errors.js';
import type { StoreLimits } from '../../src/envelope/store/envelope-store.js';
import { EXPIRY_SHARDS, RedisEnvelopeStore } from '../../src/envelope/store/redis-store.js';
import { envelopeArrivalMs } from '../../src/wire/envelope-protocol.js';
import { redisOptions, useRedisSingleAndCluster } from '../helpers/redis-store.js';

const LIMITS: StoreLimits = { mailboxMaxCount: 1000, mailboxMaxBytes: 1 << 20, storeMaxBytes: 1 << 30, pushMaxTargets: 1_000_000 };
const T0 = Date.parse('2026-06-01T00:00:00Z');
const DAY = 86_400_000;

const redis = useRedisSingleAndCluster();

/** The mailbox's score in its expiry-index shard, read with a client of our own. */
async function indexScore(url: string, isCluster: boolean, mailbox: Buffer): Promise<number | null> {
  const port = Number(new URL(url).port);
  const c = isCluster ? new Cluster([{ host: '127.0.0.1', port }], { lazyConnect: true }) : new Redis({ host: '127.0.0.1', port, lazyConnect: true });
  await c.connect();
  try {
    const score = await c.zscore(`xr:{exp-${mailbox[0]! % EXPIRY_SHARDS}}`, mailbox);
    return score === null ? null : Number(score);
  } finally {
    c.disconnect();
  }
}

describe('Redis Cluster, durability wait: a put refused after its write', () => {
  it('is still indexed, so the sweep expires it', async () => {
    // No replica: WAIT answers 0, so every put is refused 503 store_unavailable after the write.
    const s = await RedisEnvelopeStore.open(redisOptions(redis.cluster.url, { cluster: true, durability: 'wait', waitReplicas: 1, waitTimeoutMs: 50 }), LIMITS);
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

describe.each([
  ['one Redis', () => redis.single.url, false],
  ['a 3-master Cluster', () => redis.cluster.url, true],
] as const)('the expiry index after a sweep, %s', (_name, url, isCluster) => {
  it("puts a swept mailbox's entry back at its oldest arrival left, not at the sweep's lease", async () => {
    const s = await RedisEnvelopeStore.open(redisOptions(url(), { cluster: isCluster }), LIMITS);
    try {
      const m = randomBytes(32);
      await s.put(m, randomBytes(256), T0);
      const young = await s.put(m, randomBytes(256), T0 + DAY);
      expect(await indexScore(url(), isCluster, m)).toBe(T0);
      expect(await s.expire(T0 + 3_600_000)).toBe(1); // the first one only
      // Due again when the young one is, not a minute of cutoff later (which would sweep this
      // mailbox again and again, three round trips each time, until it is empty).
      expect(await indexScore(url(), isCluster, m)).toBe(envelopeArrivalMs(young));
      expect(await s.expire(T0 + DAY - 1)).toBe(0);
      expect(await s.expire(T0 + DAY + 1)).toBe(1);
      expect(await indexScore(url(), isCluster, m)).toBeNull();
    } finally {
      await s.close();
    }
  });
});
