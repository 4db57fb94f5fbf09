/** Deterministic pieces of the kit: frame stamps, per-stream bookkeeping, speech model, parsing. */
import { describe, expect, it } from 'vitest';
import { BitSet, buildFrame, readFrame, StreamTrack } from '../../src/load/frames.js';
import { quantiles } from '../../src/load/report.js';
import { seededRng } from '../../src/load/rng.js';
import { parseDuration } from '../../src/load/scenario.js';
import { isTalking, P59, talkFraction, talkSchedule, talkShare } from '../../src/load/speech.js';
import { counterWindows, traceWindows, windowLabels } from '../../src/load/leak/features.js';

describe('load kit units', () => {
  it('a frame carries sender, sequence and send time, behind an RTP-like header', () => {
    const f = buildFrame(42, 70_000, 100, 1234.5);
    expect(f.length).toBe(100);
    expect(f[0]).toBe(0x80);
    expect(readFrame(f)).toEqual({ senderId: 42, seq: 70_000, sentAt: 1234.5 });
    expect(readFrame(f.subarray(0, 10))).toBeUndefined();
  });

  it('a stream track counts uniques, duplicates, reordering and RFC 3550 jitter', () => {
    const t = new StreamTrack();
    expect(t.onFrame(0, 10)).toBe(true);
    expect(t.onFrame(2, 14)).toBe(true);
    expect(t.onFrame(1, 10)).toBe(true);
    expect(t.onFrame(2, 10)).toBe(false);
    expect([t.unique, t.duplicates, t.outOfOrder]).toEqual([3, 1, 1]);
    expect(t.jitter).toBeCloseTo(4 / 16 + (4 - 4 / 16) / 16, 6);
    const b = new BitSet();
    b.add(100_000);
    expect(b.has(100_000) && !b.has(99_999)).toBe(true);
  });

  it('the speech model is seeded and close to P.59 talk share', () => {
    const a = talkSchedule(seededRng(1), P59, 600_000);
    const b = talkSchedule(seededRng(1), P59, 600_000);
    expect(a).toEqual(b);
    const share = talkShare(a, 600_000);
    expect(share).toBeGreaterThan(0.3);
    expect(share).toBeLessThan(0.5);
    const [s, e] = a[1]!;
    expect(isTalking(a, s)).toBe(true);
    expect(isTalking(a, e)).toBe(false);
    expect(talkFraction(a, s, e)).toBe(1);
  });

  it('windows: labels need half a window of talk; traces bin by time and direction; counters interpolate', () => {
    expect(windowLabels([[50, 140]], 3, 100)).toEqual([1, 0, 0]);
    expect(windowLabels([[40, 160]], 3, 100)).toEqual([1, 1, 0]);
    const trace = { t: Float64Array.from([1000, 1050, 1120, 1130]), size: Uint16Array.from([10, 20, 30, 40]), up: Uint8Array.from([1, 0, 1, 1]), count: 4, unrecorded: 0 };
    expect(traceWindows(trace, 1000, 2, 100)).toEqual([
      [1, 10, 1, 20],
      [2, 70, 0, 0],
    ]);
    expect(counterWindows([[0, 0], [200, 10]], 0, 2, 100)).toEqual([[5], [5]]);
  });

  it('parses durations and computes quantiles', () => {
    expect([parseDuration('20s'), parseDuration('1500ms'), parseDuration('2m'), parseDuration('3'), parseDuration('x')]).toEqual([20_000, 1500, 120_000, 3000, undefined]);
    const q = quantiles([5, 1, 4, 2, 3]);
    expect([q.n, q.p50, q.max, q.mean]).toEqual([5, 3, 5, 3]);
  });
});
