/**
 * Token buckets for unauthenticated answers (RFC 8656 section 21.1, amplification): a fixed table of
 * buckets indexed by a hash of the source address, so a flood of sources costs no memory growth.
 * Collisions only make two sources share a budget. Time comes from the caller.
 */
const SLOTS = 4096;

export class SourceRateLimiter {
  private readonly tokens = new Float64Array(SLOTS);
  private readonly stamps = new Float64Array(SLOTS);

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
  ) {
    this.tokens.fill(burst);
  }

  /** Takes one token for `source`; false when its budget is spent. */
  take(source: string, nowMs: number): boolean {
    let h = 0x811c9dc5;
    for (let i = 0; i < source.length; i++) h = Math.imul(h ^ source.charCodeAt(i), 0x01000193);
    const slot = (h >>> 0) & (SLOTS - 1);
    const elapsed = Math.max(0, nowMs - this.stamps[slot]!) / 1000;
    const t = Math.min(this.burst, this.tokens[slot]! + elapsed * this.ratePerSec);
    this.stamps[slot] = nowMs;
    if (t < 1) {
      this.tokens[slot] = t;
      return false;
    }
    this.tokens[slot] = t - 1;
    return true;
  }
}
