/**
 * The leak meter's talk/silence classifiers and their score.
 *
 * Two simple attackers, both trained on the first half of the call (by time) and scored on the
 * second half: a class-weighted logistic regression on standardized window features, and the best
 * single-feature threshold. The one with the better *training* score is the meter's pick (choosing
 * on the test half would flatter the attacker). The score is balanced accuracy, the mean of the
 * per-class recalls, so chance is 50% whatever the talk share. Deterministic: no randomness.
 */
import type { WindowSet } from './features.js';

/** Per-class counts: talk windows (p) and those predicted talk (tp), silence windows (n) and those predicted silence (tn). */
function classCounts(pred: ArrayLike<number>, y: ArrayLike<number>): { tp: number; p: number; tn: number; n: number } {
  let tp = 0;
  let p = 0;
  let tn = 0;
  let n = 0;
  for (let i = 0; i < y.length; i++) {
    if (y[i] === 1) {
      p++;
      if (pred[i] === 1) tp++;
    } else {
      n++;
      if (pred[i] === 0) tn++;
    }
  }
  return { tp, p, tn, n };
}

export function balancedAccuracy(pred: ArrayLike<number>, y: ArrayLike<number>): number {
  const { tp, p, tn, n } = classCounts(pred, y);
  if (p === 0 || n === 0) return NaN;
  return (tp / p + tn / n) / 2;
}

/** 95% half-width of balanced accuracy: 1.96 × ½ √(r₁(1−r₁)/n₁ + r₀(1−r₀)/n₀). */
export function confidence(pred: ArrayLike<number>, y: ArrayLike<number>): number {
  const { tp, p, tn, n } = classCounts(pred, y);
  if (p === 0 || n === 0) return NaN;
  // Recalls at the extremes have zero variance under the approximation; floor them at one count.
  const r1 = Math.min(Math.max(tp / p, 1 / p), 1 - 1 / p);
  const r0 = Math.min(Math.max(tn / n, 1 / n), 1 - 1 / n);
  return 1.96 * 0.5 * Math.sqrt((r1 * (1 - r1)) / p + (r0 * (1 - r0)) / n);
}

export interface Model {
  kind: 'logistic' | 'threshold';
  predict(x: readonly number[]): number;
  describe: string;
}

/** Class-weighted L2 logistic regression, full-batch gradient descent with fixed steps. */
export function trainLogistic(x: number[][], y: number[], iters = 400, lr = 0.5, l2 = 1e-3): Model {
  const d = x[0]?.length ?? 0;
  const mean = new Array<number>(d).fill(0);
  const sd = new Array<number>(d).fill(0);
  for (const row of x) for (let j = 0; j < d; j++) mean[j]! += row[j]! / x.length;
  for (const row of x) for (let j = 0; j < d; j++) sd[j]! += (row[j]! - mean[j]!) ** 2 / x.length;
  for (let j = 0; j < d; j++) sd[j] = Math.sqrt(sd[j]!);
  const z = (row: readonly number[]): number[] => row.map((v, j) => (sd[j]! > 1e-9 ? (v - mean[j]!) / sd[j]! : 0));
  const zx = x.map(z);
  const pos = y.reduce((a, b) => a + b, 0);
  const neg = y.length - pos;
  const wPos = pos > 0 ? y.length / (2 * pos) : 0;
  const wNeg = neg > 0 ? y.length / (2 * neg) : 0;
  const w = new Array<number>(d).fill(0);
  let b = 0;
  for (let it = 0; it < iters; it++) {
    const gw = new Array<number>(d).fill(0);
    let gb = 0;
    for (let i = 0; i < zx.length; i++) {
      const row = zx[i]!;
      let s = b;
      for (let j = 0; j < d; j++) s += w[j]! * row[j]!;
      const p = 1 / (1 + Math.exp(-s));
      const err = (p - y[i]!) * (y[i] === 1 ? wPos : wNeg);
      for (let j = 0; j < d; j++) gw[j]! += err * row[j]!;
      gb += err;
    }
    for (let j = 0; j < d; j++) w[j]! -= lr * (gw[j]! / zx.length + l2 * w[j]!);
    b -= (lr * gb) / zx.length;
  }
  return {
    kind: 'logistic',
    predict(row) {
      const r = z(row);
      let s = b;
      for (let j = 0; j < d; j++) s += w[j]! * r[j]!;
      return s > 0 ? 1 : 0;
    },
    describe: `logistic(w=[${w.map((v) => v.toFixed(2)).join(', ')}], b=${b.toFixed(2)})`,
  };
}

/** Best single feature and cut (either direction) by training balanced accuracy. */
export function trainThreshold(x: number[][], y: number[], names: readonly string[] = []): Model {
  const d = x[0]?.length ?? 0;
  let best = { score: -1, j: 0, cut: Infinity, above: true };
  for (let j = 0; j < d; j++) {
    const values = [...new Set(x.map((r) => r[j]!))].sort((a, b) => a - b);
    const cuts = values.length > 1 ? values.slice(1).map((v, i) => (v + values[i]!) / 2) : [Infinity];
    // Bound the work on continuous features: at most ~200 candidate cuts, spread over the range.
    const step = Math.max(1, Math.floor(cuts.length / 200));
    for (let c = 0; c < cuts.length; c += step) {
      for (const above of [true, false]) {
        const cut = cuts[c]!;
        const pred = x.map((r) => ((r[j]! > cut) === above ? 1 : 0));
        const score = balancedAccuracy(pred, y);
        if (score > best.score) best = { score, j, cut, above };
      }
    }
  }
  const { j, cut, above } = best;
  return {
    kind: 'threshold',
    predict: (row) => ((row[j]! > cut) === above ? 1 : 0),
    describe: `threshold(${names[j] ?? `feature ${j}`} ${above ? '>' : '<='} ${cut.toFixed(2)})`,
  };
}

export interface LeakScore {
  /** Balanced accuracy of the picked classifier on the held-out half. */
  balancedAccuracy: number;
  /** Half-width of its 95% confidence interval (normal approximation over the two recalls). */
  ci95: number;
  /** Training-half balanced accuracy of the picked classifier. */
  trainBalancedAccuracy: number;
  classifier: string;
  /** Test-half balanced accuracy of both attackers, for the record. */
  logisticTest: number;
  thresholdTest: number;
  windows: { train: number; test: number };
  /** Share of talk windows in the test half. */
  talkShare: number;
}

/** Splits by window index (first half of the call trains), fits both attackers, scores the pick. */
export function scoreLeak(set: WindowSet, names: readonly string[] = []): LeakScore {
  const maxW = set.w.reduce((a, b) => Math.max(a, b), 0);
  const split = Math.floor((maxW + 1) / 2);
  const tr = { x: [] as number[][], y: [] as number[] };
  const te = { x: [] as number[][], y: [] as number[] };
  for (let i = 0; i < set.x.length; i++) {
    const into = set.w[i]! < split ? tr : te;
    into.x.push(set.x[i]!);
    into.y.push(set.y[i]!);
  }
  const models = [trainLogistic(tr.x, tr.y), trainThreshold(tr.x, tr.y, names)];
  const scored = models.map((m) => ({
    m,
    train: balancedAccuracy(tr.x.map((r) => m.predict(r)), tr.y),
    test: balancedAccuracy(te.x.map((r) => m.predict(r)), te.y),
  }));
  const pick = scored[0]!.train >= scored[1]!.train ? scored[0]! : scored[1]!;
  return {
    balancedAccuracy: pick.test,
    ci95: confidence(te.x.map((r) => pick.m.predict(r)), te.y),
    trainBalancedAccuracy: pick.train,
    classifier: pick.m.describe,
    logisticTest: scored[0]!.test,
    thresholdTest: scored[1]!.test,
    windows: { train: tr.x.length, test: te.x.length },
    talkShare: te.y.reduce((a, b) => a + b, 0) / Math.max(1, te.y.length),
  };
}
