/**
 * Seeded randomness for the load kit: every scenario and every classifier test draws from here so
 * a run with the same seed makes the same talk schedule and the same frame sizes.
 */

export type Rng = () => number;

/** mulberry32: tiny, fast, good enough for workload shapes (not for keys). */
export function seededRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Exponential sample with the given mean. */
export function expSample(rng: Rng, mean: number): number {
  return -Math.log(1 - rng()) * mean;
}

/** Integer uniform in [lo, hi]. */
export function intBetween(rng: Rng, lo: number, hi: number): number {
  return lo + Math.floor(rng() * (hi - lo + 1));
}

/** Derives an independent seed for a sub-stream (participant i of room r, ...). */
export function subSeed(seed: number, ...parts: number[]): number {
  let h = seed >>> 0;
  for (const p of parts) h = Math.imul(h ^ (p + 0x9e3779b9), 0x85ebca6b) >>> 0;
  return (h ^ (h >>> 13)) >>> 0;
}
