/**
 * Remembers the challenges this relay issued: pending until answered (or the socket closes), then
 * used, for long enough to recognise a replayed answer and refuse it as `challenge_reused`.
 * Bounded: entries older than `retainMs` are forgotten (an old replay then fails as `bad_challenge`).
 */
export class ChallengeBook {
  private readonly entries = new Map<string, { used: boolean; atMs: number }>();

  constructor(
    private readonly retainMs: number,
    private readonly now: () => number,
    private readonly maxEntries = 200_000,
  ) {}

  issue(challenge: Uint8Array): void {
    this.prune();
    this.entries.set(key(challenge), { used: false, atMs: this.now() });
  }

  /** Marks the challenge used; returns true if it was pending (first answer). */
  consume(challenge: Uint8Array): boolean {
    const e = this.entries.get(key(challenge));
    if (e === undefined || e.used) return false;
    e.used = true;
    return true;
  }

  wasUsed(challenge: Uint8Array): boolean {
    return this.entries.get(key(challenge))?.used === true;
  }

  private prune(): void {
    const cutoff = this.now() - this.retainMs;
    for (const [k, e] of this.entries) {
      if (e.atMs >= cutoff && this.entries.size < this.maxEntries) break; // Map order is issue order
      this.entries.delete(k);
    }
  }
}

function key(challenge: Uint8Array): string {
  return Buffer.from(challenge).toString('latin1');
}
