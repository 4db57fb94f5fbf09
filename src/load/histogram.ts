/**
 * Latency histograms of the kit: HDR histograms (hdr-histogram-js) of microseconds, 3 significant
 * digits, 1 us .. 60 s (later is clamped to 60 s). Memory is bounded by the value range (~70 kB a
 * histogram), not by the number of samples, so a long run costs what a short one does; histograms add exactly (bucket by bucket), so worker
 * processes ship one compressed histogram per interval instead of every sample, and the parent's
 * merged percentiles equal those of one histogram that had recorded every sample.
 */
import * as hdr from 'hdr-histogram-js';

/** 1 us resolution below 2.048 ms, 0.1% relative error above. */
const SIGNIFICANT_DIGITS = 3;
const HIGHEST_US = 60_000_000;
/**
 * 32-bit counts, not the packed layout: measured here, recording is ~1.3x and percentile queries
 * ~50x faster (0.1 vs 6 ms for two), which matters for a load generator that reads several
 * percentiles of every series every second; the price is ~70 kB a histogram instead of a few kB.
 */
const BUCKETS = 32;

export interface Quantiles {
  n: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  p9999: number;
  max: number;
}

/** The percentiles of the tail view (HDR-style percentile plot). */
export const TAIL_PERCENTILES = [50, 90, 99, 99.9, 99.99] as const;

export class LatencyHistogram {
  private readonly h: hdr.Histogram;

  constructor(from?: hdr.Histogram) {
    this.h = from ?? hdr.build({ bitBucketSize: BUCKETS, lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST_US, numberOfSignificantValueDigits: SIGNIFICANT_DIGITS, useWebAssembly: false });
  }

  /** Records one latency in ms (clamped to 1 us .. 60 s: a histogram cannot throw mid-run). */
  record(ms: number): void {
    const us = Math.round(ms * 1000);
    this.h.recordValue(us < 1 ? 1 : us > HIGHEST_US ? HIGHEST_US : us);
  }

  get count(): number {
    return this.h.totalCount;
  }

  /** Adds every count of `other` into this one (exact: both share one bucket layout). */
  add(other: LatencyHistogram): this {
    this.h.add(other.h);
    return this;
  }

  reset(): void {
    this.h.reset();
  }

  /**
   * Latency in ms at percentile `p` (0..100): the highest value equivalent to the sample there
   * (max too: at(100), so a histogram and its decoded copy give the same figures).
   */
  at(p: number): number {
    return this.h.totalCount === 0 ? NaN : this.h.getValueAtPercentile(p) / 1000;
  }

  quantiles(): Quantiles {
    const n = this.h.totalCount;
    if (n === 0) return { n: 0, mean: NaN, p50: NaN, p90: NaN, p99: NaN, p999: NaN, p9999: NaN, max: NaN };
    return { n, mean: this.h.mean / 1000, p50: this.at(50), p90: this.at(90), p99: this.at(99), p999: this.at(99.9), p9999: this.at(99.99), max: this.at(100) };
  }

  /** Compressed, base64 (the HdrHistogram V2 format other HDR tools read). */
  encode(): string {
    return hdr.encodeIntoCompressedBase64(this.h);
  }

  static decode(text: string): LatencyHistogram {
    return new LatencyHistogram(hdr.decodeFromCompressedBase64(text, BUCKETS, false));
  }

  /** Sum of several histograms (encoded or not); an empty one when the list is empty. */
  static merge(parts: Array<LatencyHistogram | string | undefined>): LatencyHistogram {
    const out = new LatencyHistogram();
    for (const p of parts) if (p !== undefined) out.add(typeof p === 'string' ? LatencyHistogram.decode(p) : p);
    return out;
  }

  /**
   * Points of the percentile plot: [percentile, ms] from p0 up to 1 - 1/n (the last sample's rank),
   * a few per decade of 1/(1-p) (what HdrHistogram's percentile output gives, without its text).
   */
  percentilePoints(perDecade = 12): Array<[number, number]> {
    const n = this.h.totalCount;
    if (n === 0) return [];
    const out: Array<[number, number]> = [];
    // Stop where one sample is left beyond: 1/(1-p) = n.
    const decades = Math.log10(Math.max(2, n));
    for (let i = 0; i <= Math.ceil(decades * perDecade); i++) {
      const p = 100 * (1 - 10 ** -(Math.min(i / perDecade, decades)));
      out.push([p, this.at(p)]);
    }
    // No point at p100: on the 1/(1-p) axis it would sit at infinity, and a flat line drawn out to
    // the edge would claim percentiles that no sample reaches.
    return out;
  }
}

/** Exact quantiles of a small list (join latencies: one per join, bounded by the scenario). */
export function quantilesOf(xs: ArrayLike<number>): Quantiles {
  const s = Float64Array.from(xs as ArrayLike<number>).sort();
  const n = s.length;
  const q = (f: number): number => (n === 0 ? NaN : s[Math.min(n - 1, Math.ceil(f * n) - 1)]!);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += s[i]!;
  return { n, mean: n === 0 ? NaN : sum / n, p50: q(0.5), p90: q(0.9), p99: q(0.99), p999: q(0.999), p9999: q(0.9999), max: n === 0 ? NaN : s[n - 1]! };
}
