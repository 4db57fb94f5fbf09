/**
 * Turning a trace into per-window features and labels (the leak meter's data set).
 * Windows are 100 ms by default; a window is labelled "talk" when talk covers at least half of it.
 */
import type { TapTrace } from './tap.js';
import { talkFraction, type Intervals } from '../speech.js';

/** Observer features per window: packets and bytes, uplink then downlink. */
export const OBSERVER_FEATURES = ['up packets', 'up bytes', 'down packets', 'down bytes'] as const;

export interface WindowSet {
  /** Features, one row per window. */
  x: number[][];
  /** 1 = talk, 0 = silence. */
  y: number[];
  /** Window index from the start of the call (train/test split is by time). */
  w: number[];
}

export function emptySet(): WindowSet {
  return { x: [], y: [], w: [] };
}

export function appendSet(into: WindowSet, from: WindowSet): void {
  for (let i = 0; i < from.x.length; i++) {
    into.x.push(from.x[i]!);
    into.y.push(from.y[i]!);
    into.w.push(from.w[i]!);
  }
}

/** Ground-truth labels for `n` windows starting at `startMs` (epoch ms); `talk` is relative to startMs. */
export function windowLabels(talk: Intervals, n: number, windowMs: number): number[] {
  const y: number[] = [];
  for (let i = 0; i < n; i++) y.push(talkFraction(talk, i * windowMs, (i + 1) * windowMs) >= 0.5 ? 1 : 0);
  return y;
}

/** Observer features of a tap trace over [startMs, startMs + n × windowMs). */
export function traceWindows(trace: TapTrace, startMs: number, n: number, windowMs: number): number[][] {
  const x: number[][] = Array.from({ length: n }, () => [0, 0, 0, 0]);
  for (let i = 0; i < trace.count; i++) {
    const w = Math.floor((trace.t[i]! - startMs) / windowMs);
    if (w < 0 || w >= n) continue;
    const row = x[w]!;
    const up = trace.up[i] === 1;
    row[up ? 0 : 2]!++;
    row[up ? 1 : 3]! += trace.size[i]!;
  }
  return x;
}

/** Timing features per window: mean and standard deviation of inter-arrival gaps (ms), uplink then downlink. */
export const TIMING_FEATURES = ['up gap mean', 'up gap sd', 'down gap mean', 'down gap sd'] as const;

export function timingWindows(trace: TapTrace, startMs: number, n: number, windowMs: number): number[][] {
  const acc = Array.from({ length: n }, () => [0, 0, 0, 0, 0, 0]); // per direction: count, sum, sum of squares
  const last = [NaN, NaN];
  for (let i = 0; i < trace.count; i++) {
    const dir = trace.up[i] === 1 ? 0 : 1;
    const t = trace.t[i]!;
    const gap = t - last[dir]!;
    last[dir] = t;
    const w = Math.floor((t - startMs) / windowMs);
    if (w < 0 || w >= n || Number.isNaN(gap)) continue;
    const a = acc[w]!;
    a[dir * 3]!++;
    a[dir * 3 + 1]! += gap;
    a[dir * 3 + 2]! += gap * gap;
  }
  return acc.map((a) => {
    const out: number[] = [];
    for (let d = 0; d < 2; d++) {
      const c = a[d * 3]!;
      const mean = c > 0 ? a[d * 3 + 1]! / c : 0;
      out.push(mean, c > 1 ? Math.sqrt(Math.max(0, a[d * 3 + 2]! / c - mean * mean)) : 0);
    }
    return out;
  });
}

/**
 * Relay-view features from samples of a cumulative per-sender counter (records the relay
 * accepted from that sender): records per window, by linear interpolation between samples.
 */
export function counterWindows(samples: ReadonlyArray<readonly [number, number]>, startMs: number, n: number, windowMs: number): number[][] {
  const at = (t: number): number => {
    if (samples.length === 0) return 0;
    if (t <= samples[0]![0]) return samples[0]![1];
    let lo = 0;
    let hi = samples.length - 1;
    if (t >= samples[hi]![0]) return samples[hi]![1];
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (samples[mid]![0] <= t) lo = mid;
      else hi = mid;
    }
    const [t0, v0] = samples[lo]!;
    const [t1, v1] = samples[hi]!;
    return v0 + ((v1 - v0) * (t - t0)) / (t1 - t0);
  };
  const x: number[][] = [];
  for (let i = 0; i < n; i++) x.push([at(startMs + (i + 1) * windowMs) - at(startMs + i * windowMs)]);
  return x;
}
