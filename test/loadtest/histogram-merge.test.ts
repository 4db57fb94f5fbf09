/**
 * Latency histograms: bounded memory, and an exact merge across worker processes. Workers ship
 * one compressed HDR histogram per interval; the parent adds them, and the merged percentiles are
 * those of one histogram that recorded every sample.
 */
import { describe, expect, it } from 'vitest';
import { LatencyHistogram, quantilesOf } from '../../src/load/histogram.js';
import { figures } from '../../src/load/intervals.js';
import type { TimelinePoint } from '../../src/load/runner.js';
import { mergeFigures, mergeTimelines } from '../../src/load/shards.js';
import { seededRng } from '../../src/load/rng.js';

/** A histogram of `us` microsecond values, shipped as a worker would (encoded). */
const shipped = (us: number[]): string => {
  const h = new LatencyHistogram();
  for (const v of us) h.record(v / 1000);
  return h.encode();
};
const range = (a: number, b: number): number[] => Array.from({ length: b - a + 1 }, (_, i) => a + i);

describe('latency histograms', () => {
  it('two workers, 1..1000 us and 1001..2000 us: the merge gives the exact percentiles of all 2000', () => {
    const merged = LatencyHistogram.merge([shipped(range(1, 1000)), shipped(range(1001, 2000))]);
    const q = merged.quantiles();
    // Below 2048 us the histogram has 1 us buckets: these figures are exact.
    expect(q).toEqual({ n: 2000, mean: 1.0005, p50: 1, p90: 1.8, p99: 1.98, p999: 1.998, p9999: 2, max: 2 });
    const exact = quantilesOf(range(1, 2000).map((v) => v / 1000));
    expect([q.p50, q.p90, q.p99, q.p999, q.max]).toEqual([exact.p50, exact.p90, exact.p99, exact.p999, exact.max]);
  });

  it('three workers of random latencies merge to exactly what one histogram of every sample gives, within 0.1% of the sorted samples', () => {
    const rng = seededRng(7);
    const all: number[] = [];
    const parts: number[][] = [[], [], []];
    for (let i = 0; i < 30_000; i++) {
      // a body around 20-40 ms and a tail to 400 ms, whole microseconds
      const us = Math.round(1000 * (rng() < 0.98 ? 20 + 20 * rng() : 40 + 360 * rng()));
      all.push(us);
      parts[i % 3]!.push(us);
    }
    const merged = LatencyHistogram.merge(parts.map(shipped));
    const single = LatencyHistogram.decode(shipped(all));
    expect(merged.quantiles()).toEqual(single.quantiles());
    expect(merged.encode()).toBe(single.encode());
    const exact = quantilesOf(all.map((v) => v / 1000));
    for (const k of ['p50', 'p90', 'p99', 'p999', 'max'] as const) expect(Math.abs(merged.quantiles()[k] - exact[k]) / exact[k], k).toBeLessThanOrEqual(0.001);
  });

  it('stays bounded: a million samples encode to a few kB (the raw samples would be 8 MB)', () => {
    const h = new LatencyHistogram();
    const rng = seededRng(3);
    for (let i = 0; i < 1_000_000; i++) h.record(5 + 200 * rng() ** 4);
    const text = h.encode();
    console.log(`1e6 samples: ${text.length} base64 chars`);
    expect(h.count).toBe(1_000_000);
    expect(text.length).toBeLessThan(16_000);
    expect(LatencyHistogram.decode(text).quantiles()).toEqual(h.quantiles());
  });

  it('interval figures merge: histograms add, expected and lost add, jitter weighted by streams', () => {
    const a = figures(LatencyHistogram.decode(shipped(range(1, 1000))), 300, 3, [2, 3]);
    const b = figures(LatencyHistogram.decode(shipped(range(1001, 2000))), 100, 1, [6, 1]);
    const m = mergeFigures([a, b]);
    expect(m.latencyMs).toEqual({ n: 2000, p50: 1, p90: 1.8, p99: 1.98, max: 2 });
    expect([m.expected, m.lost, m.lossPct, m.jitterMs, m.jitterStreams]).toEqual([400, 4, 1, 3, 4]);
    const empty = figures(new LatencyHistogram(), 0, 0, [NaN, 0]);
    expect(mergeFigures([empty, b]).jitterMs).toBe(6);
    const point = (f: typeof a, sent: number): TimelinePoint => ({ t: 1, dt: 1, framesSentPerSec: sent, framesDeliveredPerSec: 2 * sent, liveClients: 4, ...f, series: [f, empty] });
    const [p] = mergeTimelines([[point(a, 10)], [point(b, 5)]]);
    expect([p!.framesSentPerSec, p!.framesDeliveredPerSec, p!.liveClients, p!.latencyMs.n, p!.series[0]!.latencyMs.p99, p!.series[1]!.latencyMs.n]).toEqual([15, 30, 8, 2000, 1.98, 0]);
  });
});
