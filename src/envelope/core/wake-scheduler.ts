/**
 * Decides when to send a content-free wake, sans-IO. At most one wake per mailbox per window;
 * failed wakes retry with exponential backoff (base, 2x base, 4x base, ...) up to `retries` times.
 * The driver (wake-dispatcher.ts) owns timers and the provider calls.
 */
export interface WakePolicy {
  windowMs: number;
  retries: number;
  retryBaseMs: number;
}

export class WakeScheduler {
  private readonly lastWakeMs = new Map<string, number>();

  constructor(private readonly policy: WakePolicy) {}

  /** An envelope arrived for a mailbox with no live reader: should a wake go out now? */
  shouldWake(mailboxKey: string, nowMs: number): boolean {
    const last = this.lastWakeMs.get(mailboxKey);
    if (last !== undefined && nowMs - last < this.policy.windowMs) return false;
    this.lastWakeMs.set(mailboxKey, nowMs);
    return true;
  }

  /** Delay before retry number `attempt` (1-based), or undefined when retries are exhausted. */
  retryDelayMs(attempt: number): number | undefined {
    if (attempt > this.policy.retries) return undefined;
    return this.policy.retryBaseMs * 2 ** (attempt - 1);
  }

  /** Forgets windows that have passed, so the map holds only recently woken mailboxes. */
  prune(nowMs: number): void {
    for (const [key, at] of this.lastWakeMs) if (nowMs - at >= this.policy.windowMs) this.lastWakeMs.delete(key);
  }
}
