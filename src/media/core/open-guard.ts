/**
 * Flood guard in front of the AEAD open (TypeScript data plane). Cells that pass the core's cheap
 * checks (live session id, exact length, fresh counter) but do not come from their session's
 * proven path (the address that last sent it an authenticated cell) are "unverified": a client's
 * first cells, a roaming client's first cells from its new address, or a flood of bad tags. Each
 * unverified open spends one token from its source address's bucket, then one from its session's
 * bucket; without both it is dropped as `throttled` before any crypto. Cells from the proven path
 * never wait here, so an established call is served first whatever else arrives.
 *
 * Why: on node:dgram a failed open costs ~13-18 us (OpenSSL's Decipher.final() throws on a bad
 * tag), so ~60-80k bad tags/s fill a core. A bucket lookup costs well under 1 us.
 *
 * Sans-IO: time comes in as `nowMs`. The per-source bucket is checked first so a single source
 * that floods one session spends its own tokens, not the session's: a legitimate roam from another
 * address still finds session tokens. A flood from many (spoofed) source addresses at one session
 * can still use up that session's bucket; that session then roams only at the bucket's rate while
 * its proven path keeps working.
 */
import { RateLimiter } from '../../limits/rate-limiter.js';

export interface OpenGuardOptions {
  /** Unverified opens per second (and burst) per source address. */
  readonly perSourcePerSec: number;
  /** Unverified opens per second (and burst) per session, all sources together. */
  readonly perSessionPerSec: number;
  /** Most source addresses tracked at once (least recently seen evicted). */
  readonly maxSources: number;
}

/** Asked by MediaCore.receive() just before it opens a cell of a live session. */
export interface OpenGate {
  admit(index: number, nowMs: number): boolean;
}

export class OpenGuard {
  private readonly sources: RateLimiter;
  private tokens = new Float64Array(64);
  private stamps = new Float64Array(64);
  /** Throttled unverified opens, by which bucket said no. */
  readonly stats = { throttledSource: 0, throttledSession: 0 };

  constructor(private readonly opts: OpenGuardOptions) {
    this.sources = new RateLimiter(opts.perSourcePerSec, Math.max(1, opts.perSourcePerSec), opts.maxSources);
    this.tokens.fill(NaN);
  }

  /** One unverified open for session `index` from `source` (undefined: a path with no address, e.g. a WebSocket). */
  admit(index: number, source: string | undefined, nowMs: number): boolean {
    if (source !== undefined && this.sources.take(source, nowMs) > 0) {
      this.stats.throttledSource++;
      return false;
    }
    this.grow(index);
    const rate = this.opts.perSessionPerSec;
    const burst = Math.max(1, rate);
    const prev = this.tokens[index]!;
    // NaN: a fresh session starts with a full bucket. A clock stepped back refills nothing.
    const t = Number.isNaN(prev) ? burst : Math.min(burst, prev + (Math.max(0, nowMs - this.stamps[index]!) / 1000) * rate);
    this.stamps[index] = nowMs;
    if (t < 1) {
      this.tokens[index] = t;
      this.stats.throttledSession++;
      return false;
    }
    this.tokens[index] = t - 1;
    return true;
  }

  /** Session `index` ended or is being reused: its next holder starts with a full bucket. */
  forget(index: number): void {
    if (index < this.tokens.length) this.tokens[index] = NaN;
  }

  private grow(index: number): void {
    if (index < this.tokens.length) return;
    const n = Math.max(index + 1, this.tokens.length * 2);
    const t = new Float64Array(n).fill(NaN);
    t.set(this.tokens);
    const s = new Float64Array(n);
    s.set(this.stamps);
    this.tokens = t;
    this.stamps = s;
  }
}
