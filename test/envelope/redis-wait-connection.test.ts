/**
 * `redis.durability: wait` on a real redis-server with its replica gone: WAIT blocks the connection
 * that sends it for up to `redis.waitTimeoutMs`, so it must not be the connection the node's reads
 * and acknowledgements use. Otherwise every put in flight adds a whole WAIT timeout in front of each
 * live reader's read and ack (past the client's 10 s command timeout, they all fail).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RelayError } from '../../src/errors.js';
import { RedisEnvelopeStore } from '../../src/envelope/store/redis-store.js';
import { type RedisProcess, startRedis } from '../helpers/redis-server.js';
import { redisOptions } from '../helpers/redis-store.js';

const LIMITS = { mailboxMaxCount: 1000, mailboxMaxBytes: 1 << 20, storeMaxBytes: 1 << 30, pushMaxTargets: 1_000_000 };
const WAIT_MS = 500;
const PUTS = 10;

let primary: RedisProcess;
beforeAll(async () => {
  primary = await startRedis();
}, 30_000);
afterAll(async () => {
  await primary?.stop();
});

describe('durability wait, no replica acknowledging', () => {
  it('reads and acks answer at once while puts wait for replicas', async () => {
    const s = await RedisEnvelopeStore.open(redisOptions(primary.url, { durability: 'wait', waitReplicas: 1, waitTimeoutMs: WAIT_MS }), LIMITS);
    try {
      const m = randomBytes(32);
      // Refused (no replica) but stored: the copy stays on the primary. Its id is what the reader acks.
      expect(await s.put(m, randomBytes(256), Date.now()).then(() => 'ok', (err: RelayError) => err.code)).toBe('store_unavailable');
      const [first] = await s.list(m, undefined, 1);
      const t0 = performance.now();
      const puts = Array.from({ length: PUTS }, () => s.put(m, randomBytes(256), Date.now()).then(() => 'ok', (err: RelayError) => err.code));
      // Give the puts a head start onto the wire, then read and ack as a live reader would.
      await new Promise((r) => setTimeout(r, 50));
      const timed = async <T>(op: Promise<T>): Promise<[T, number]> => {
        const started = performance.now();
        const v = await op;
        return [v, performance.now() - started];
      };
      const [[listed, readMs], [acked, ackMs]] = await Promise.all([timed(s.list(m, undefined, PUTS + 1)), timed(s.ack(m, [first!.id]))]);
      const codes = await Promise.all(puts);
      console.log(`${PUTS} puts waiting ${WAIT_MS} ms each for a replica: list ${readMs.toFixed(0)} ms (${listed.length} envelopes), ack ${ackMs.toFixed(0)} ms, puts settled after ${(performance.now() - t0).toFixed(0)} ms`);
      expect(new Set(codes)).toEqual(new Set(['store_unavailable']));
      expect(acked).toBe(1);
      // One WAIT timeout is 500 ms; behind ten of them a read took 5 s. Generous bound for a loaded VM.
      expect(readMs).toBeLessThan(WAIT_MS * 2);
      expect(ackMs).toBeLessThan(WAIT_MS * 2);
    } finally {
      await s.close();
    }
  });
});
