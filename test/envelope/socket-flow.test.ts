/** The envelope sockets' backpressure and liveness core, sans-IO: plain numbers in, decisions out. */
import { describe, expect, it } from 'vitest';
import { SocketFlow } from '../../src/envelope/core/socket-flow.js';
import { SocketSlots } from '../../src/limits/socket-slots.js';

const limits = { maxBufferedBytes: 1000, stallMs: 30_000, maxInflight: 2, idleMs: 60_000 };

describe('SocketFlow', () => {
  it('blocks on a full send buffer first, then on the in-flight cap', () => {
    const f = new SocketFlow(limits, 0);
    expect(f.blockedBy(1000)).toBeUndefined();
    expect(f.blockedBy(1001)).toBe('buffered');
    f.inflight = 2;
    expect(f.blockedBy(0)).toBe('inflight');
    expect(f.blockedBy(5000)).toBe('buffered');
    f.inflight = 1;
    expect(f.blockedBy(0)).toBeUndefined();
  });

  it('a send buffer over its bound for stallMs is slow_consumer; dipping under resets the clock', () => {
    const f = new SocketFlow(limits, 0);
    f.onActivity(0);
    expect(f.check(1000, 2000)).toBe('ok');
    expect(f.check(30_999, 2000)).toBe('ok');
    expect(f.check(31_000, 2000)).toBe('slow_consumer');
    const g = new SocketFlow(limits, 0);
    g.noteBuffered(0, 2000);
    expect(g.check(20_000, 10)).toBe('ok'); // drained: the stall clock stops, the idle clock restarts
    expect(g.check(40_000, 2000)).toBe('ok'); // over again from 40 s
    expect(g.check(69_999, 2000)).toBe('ok');
    expect(g.check(70_000, 2000)).toBe('slow_consumer');
    const h = new SocketFlow({ ...limits, stallMs: 10 ** 9 }, 0);
    expect(h.check(100_000, 2000)).toBe('ok'); // stalled, not idle
    expect(h.check(159_999, 0)).toBe('ok'); // drained at 159.999 s: idle counts from there
    expect(h.check(219_998, 0)).toBe('ok');
    expect(h.check(219_999, 0)).toBe('idle_timeout');
  });

  it('idle_timeout after idleMs without a frame, never while a post is in flight, never when idleMs is 0', () => {
    const f = new SocketFlow(limits, 0);
    expect(f.check(59_999, 0)).toBe('ok');
    f.onActivity(50_000);
    expect(f.check(109_999, 0)).toBe('ok');
    f.inflight = 1;
    expect(f.check(500_000, 0)).toBe('ok');
    f.inflight = 0;
    expect(f.check(500_000, 0)).toBe('idle_timeout');
    const reader = new SocketFlow({ ...limits, idleMs: 0 }, 0);
    expect(reader.check(10 ** 12, 0)).toBe('ok');
  });
});

describe('SocketFlow ack progress (readers)', () => {
  it('envelopes unacknowledged with no ack progress for stallMs is slow_consumer; each ack restarts the clock', () => {
    const f = new SocketFlow({ ...limits, idleMs: 0 }, 0);
    expect(f.check(10 ** 9, 0)).toBe('ok'); // nothing sent: a reader may wait for mail forever
    f.onAwaitingAck(1000);
    f.onAwaitingAck(20_000); // more sent: the clock keeps its start
    expect(f.check(30_999, 0)).toBe('ok');
    f.onAcked(30_000, true); // some acked, some left
    expect(f.check(59_999, 0)).toBe('ok');
    expect(f.check(60_000, 0)).toBe('slow_consumer');
    f.onAcked(60_000, false); // all acked
    expect(f.check(10 ** 9, 0)).toBe('ok');
  });
});

describe('SocketSlots', () => {
  it('holds at most max per key, forgets keys with none', () => {
    const s = new SocketSlots(2);
    expect(s.tryAcquire('a')).toBe(true);
    expect(s.tryAcquire('a')).toBe(true);
    expect(s.tryAcquire('a')).toBe(false);
    expect(s.tryAcquire('b')).toBe(true);
    expect(s.held('a')).toBe(2);
    s.release('a');
    expect(s.tryAcquire('a')).toBe(true);
    s.release('a');
    s.release('a');
    s.release('b');
    s.release('b'); // a stray release does not go negative
    expect(s.clients).toBe(0);
    expect(s.held('b')).toBe(0);
  });
});
