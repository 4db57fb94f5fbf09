/**
 * Sends content-free wakes through push providers, off the post path: a post is answered before
 * its wake is even looked up, and a failing provider only costs retries on unref'd timers.
 * Bounded: at most `maxPending` wakes are in progress (a request out, or a retry waiting) at once;
 * past it a new wake is dropped and counted (`xrelay_wakes_total{result="dropped"}`), so a slow or
 * dead push endpoint cannot make the relay hold an unbounded number of requests and timers. Each
 * request has its provider's timeout (the webhook's: 5 s).
 */
import type { Logger } from '../../observability/log.js';
import { errorSummary } from '../../observability/error-summary.js';
import type { PushTarget } from '../store/envelope-store.js';
import type { MailboxWaker, WakeGate, WakeMetrics } from '../core/ports.js';
import type { PushProvider } from './push-providers.js';
import { WakeScheduler, type WakePolicy } from '../core/wake-scheduler.js';

/** The waker port's implementation: push providers behind a per-mailbox window and bounded retries. */
export class WakeDispatcher implements MailboxWaker {
  private readonly scheduler: WakeScheduler;
  private readonly providers = new Map<string, PushProvider>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private pending = 0;
  private closed = false;

  constructor(
    providers: readonly PushProvider[],
    private readonly policy: WakePolicy,
    private readonly metrics: WakeMetrics,
    private readonly logger: Logger,
    private readonly now: () => number,
    private readonly maxPending = 1024,
    /** Cluster mode: one wake per window across the nodes (a Redis SET NX PX per mailbox). */
    private readonly gate?: WakeGate,
  ) {
    for (const p of providers) this.providers.set(p.name, p);
    this.scheduler = new WakeScheduler(policy);
  }

  hasProvider(name: string): boolean {
    return this.providers.has(name);
  }

  /** Called after an envelope is stored for a mailbox nobody is reading. */
  onEnvelopeWithoutReader(mailbox: Uint8Array, lookup: () => Promise<PushTarget | undefined> | undefined): void {
    if (this.closed || this.providers.size === 0) return;
    const key = Buffer.from(mailbox).toString('latin1');
    void Promise.resolve()
      .then(lookup)
      .then((target) => {
        if (target === undefined) return;
        const provider = this.providers.get(target.provider);
        if (provider === undefined) return;
        if (!this.scheduler.shouldWake(key, this.now())) {
          this.metrics.wake('coalesced');
          return;
        }
        if (this.gate === undefined) return this.send(provider, target.token);
        // A gate that fails (Redis away) lets the wake go: a second wake costs less than none.
        return this.gate.claim(mailbox, this.policy.windowMs).then(
          (mine) => (mine ? this.send(provider, target.token) : this.metrics.wake('coalesced')),
          () => this.send(provider, target.token),
        );
      })
      .catch((err: unknown) => this.logger.warn({ err: errorSummary(err) }, 'push target lookup failed'));
  }

  private send(provider: PushProvider, token: string): void {
    if (this.closed) return;
    if (this.pending >= this.maxPending) {
      this.metrics.wake('dropped');
      return;
    }
    this.pending++;
    this.attempt(provider, token, 1);
  }

  prune(): void {
    this.scheduler.prune(this.now());
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.pending -= this.timers.size;
    this.timers.clear();
  }

  private attempt(provider: PushProvider, token: string, attempt: number): void {
    provider.wake(token).then(
      () => {
        this.pending--;
        this.metrics.wake('sent');
      },
      (err: unknown) => {
        const delay = this.scheduler.retryDelayMs(attempt);
        if (delay === undefined || this.closed) {
          this.pending--;
          this.metrics.wake('failed');
          this.logger.warn({ provider: provider.name, attempts: attempt, err: errorSummary(err) }, 'push wake failed');
          return;
        }
        this.metrics.wake('retried');
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          this.attempt(provider, token, attempt + 1);
        }, delay);
        timer.unref();
        this.timers.add(timer);
      },
    );
  }
}
