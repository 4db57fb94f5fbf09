/** Exact timing of the envelope plane's sans-IO parts, with injected time: no sleeps. */
import { describe, expect, it } from 'vitest';
import { ChallengeBook } from '../../src/envelope/core/challenge-book.js';
import { EnvelopeIdGenerator } from '../../src/envelope/store/envelope-ids.js';
import { UsageTracker } from '../../src/envelope/store/envelope-store.js';
import { envelopeArrivalMs } from '../../src/wire/envelope-protocol.js';
import { RateLimiter } from '../../src/limits/rate-limiter.js';
import { WakeScheduler } from '../../src/envelope/core/wake-scheduler.js';

describe('EnvelopeIdGenerator', () => {
  it('orders ids by arrival, within a millisecond and across a clock step back', () => {
    const gen = new EnvelopeIdGenerator();
    const ids = [gen.next(1000), gen.next(1000), gen.next(1001), gen.next(999), gen.next(1002)];
    const sorted = [...ids].sort(Buffer.compare);
    expect(sorted).toEqual(ids);
    expect(envelopeArrivalMs(ids[0]!)).toBe(1000);
    expect(envelopeArrivalMs(ids[3]!)).toBe(1001); // the clock stepped back; ids did not
  });

  it('rolls over 65 536 ids in one millisecond into the next without reordering', () => {
    const gen = new EnvelopeIdGenerator();
    let prev = gen.next(5);
    for (let i = 0; i < 70_000; i++) {
      const id = gen.next(5);
      expect(Buffer.compare(prev, id)).toBe(-1);
      prev = id;
    }
    expect(envelopeArrivalMs(prev)).toBe(6);
  });

  it('starts past a floor so ids stay ordered across restarts', () => {
    const gen = new EnvelopeIdGenerator(2_000_000);
    expect(envelopeArrivalMs(gen.next(1_000_000))).toBe(2_000_001);
  });
});

describe('RateLimiter', () => {
  it('allows the burst, then the sustained rate, and says how long to wait', () => {
    const rl = new RateLimiter(2, 3);
    expect([0, 0, 0].map(() => rl.take('a', 0))).toEqual([0, 0, 0]);
    expect(rl.take('a', 0)).toBeCloseTo(0.5);
    expect(rl.take('b', 0)).toBe(0); // another address is independent
    expect(rl.take('a', 499)).toBeGreaterThan(0);
    expect(rl.take('a', 1000)).toBe(0);
  });

  it('a clock stepped back neither drains nor refills a bucket', () => {
    const rl = new RateLimiter(1, 2);
    expect([rl.take('a', 3_600_000), rl.take('a', 3_600_000)]).toEqual([0, 0]);
    expect(rl.take('a', 0)).toBeCloseTo(1); // one hour back: still one token short, not an hour
    expect(rl.take('a', 1000)).toBe(0);
  });

  it('holds at most maxKeys addresses, forgetting the least recently seen', () => {
    const rl = new RateLimiter(1, 1, 2);
    rl.take('a', 0);
    rl.take('b', 0);
    rl.take('c', 0); // evicts a
    expect(rl.take('a', 0)).toBe(0); // a starts afresh with a full burst
    expect(rl.take('c', 0)).toBeGreaterThan(0);
  });
});

describe('WakeScheduler', () => {
  it('coalesces to one wake per mailbox per window', () => {
    const ws = new WakeScheduler({ windowMs: 30_000, retries: 3, retryBaseMs: 1000 });
    expect(ws.shouldWake('m', 0)).toBe(true);
    expect(ws.shouldWake('m', 29_999)).toBe(false);
    expect(ws.shouldWake('other', 10)).toBe(true);
    expect(ws.shouldWake('m', 30_000)).toBe(true);
  });

  it('backs off exponentially and stops after the retries', () => {
    const ws = new WakeScheduler({ windowMs: 0, retries: 3, retryBaseMs: 1000 });
    expect([1, 2, 3, 4].map((a) => ws.retryDelayMs(a))).toEqual([1000, 2000, 4000, undefined]);
  });

  it('prunes windows that have passed', () => {
    const ws = new WakeScheduler({ windowMs: 100, retries: 0, retryBaseMs: 1 });
    ws.shouldWake('m', 0);
    ws.prune(100);
    expect((ws as unknown as { lastWakeMs: Map<string, number> }).lastWakeMs.size).toBe(0);
  });
});

describe('ChallengeBook', () => {
  it('a challenge answers once; a later answer is recognised as reused until retention ends', () => {
    let now = 0;
    const book = new ChallengeBook(1000, () => now);
    const c = new Uint8Array(32).fill(1);
    book.issue(c);
    expect(book.consume(c)).toBe(true);
    expect(book.consume(c)).toBe(false);
    expect(book.wasUsed(c)).toBe(true);
    now = 1001;
    book.issue(new Uint8Array(32).fill(2)); // issuing prunes
    expect(book.wasUsed(c)).toBe(false);
  });
});

describe('UsageTracker', () => {
  it('enforces per-mailbox count and bytes and the global cap; release undoes a reservation', () => {
    const u = new UsageTracker({ mailboxMaxCount: 2, mailboxMaxBytes: 1000, storeMaxBytes: 1500, pushMaxTargets: 1 });
    u.reserve('a', 400);
    u.reserve('a', 400);
    expect(() => u.reserve('a', 1)).toThrow(expect.objectContaining({ code: 'mailbox_full' }));
    u.reserve('b', 600);
    expect(() => u.reserve('c', 200)).toThrow(expect.objectContaining({ code: 'mailbox_full' }));
    u.release('b', 600);
    u.reserve('c', 200);
    expect(u.total).toEqual({ count: 3, bytes: 1000 });
  });
});
