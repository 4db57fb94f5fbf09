/**
 * The envelope plane's logic, transport-agnostic: validate and store posts, hand readers to the
 * notifier, notify them, and decide wakes. HTTP and WebSocket front ends call into it; it never sees
 * an address beyond the opaque rate-limit key it is handed, and it never parses an envelope. It
 * talks to ports only: a store (`EnvelopeStore`), a notifier (`MailboxNotifier`), a waker
 * (`MailboxWaker`) and a metrics port; time comes in through `now`.
 */
import type { RelayConfig } from '../../config/schema.js';
import { RelayError } from '../../errors.js';
import type { EnvelopeStore, StoredEnvelope } from '../store/envelope-store.js';
import { RateLimiter } from '../../limits/rate-limiter.js';
import type { MailboxNotifier, MailboxReader } from './mailbox-notifier.js';
import type { MailboxMetrics, MailboxWaker } from './ports.js';

export interface MailboxServiceDeps {
  config: RelayConfig['envelope'];
  metrics: MailboxMetrics;
  wakes: MailboxWaker;
  notifier: MailboxNotifier;
  now: () => number;
  /** A monotonic clock in milliseconds, sub-millisecond resolution (store write times). */
  monotonicMs: () => number;
}

export class MailboxService {
  private store: EnvelopeStore | undefined;
  private readonly limiter: RateLimiter;
  private readonly buckets: ReadonlySet<number>;
  private readonly inflight = new Set<Promise<unknown>>();
  private accepting = true;
  private readonly clock: () => number;

  constructor(private readonly deps: MailboxServiceDeps) {
    this.limiter = new RateLimiter(deps.config.postRatePerSec, deps.config.postBurst);
    this.buckets = new Set(deps.config.sizeBuckets);
    this.clock = deps.monotonicMs;
  }

  attachStore(store: EnvelopeStore): void {
    this.store = store;
  }

  get ready(): boolean {
    return this.store !== undefined;
  }

  /** Throws the RelayError a post of this size would get, before its body is read. */
  checkSize(length: number): void {
    if (!this.buckets.has(length)) {
      this.reject('size_not_allowed', `envelope size must be one of ${[...this.buckets].sort((a, b) => a - b).join(', ')} bytes, got ${length}`);
    }
  }

  /** Throws `rate_limited` when this client key (its address, in memory only) is over its rate. */
  checkRate(clientKey: string): void {
    const waitSec = this.limiter.take(clientKey, this.deps.now());
    if (waitSec > 0) this.reject('rate_limited', 'too many posts from this address', waitSec);
  }

  /** Stores the envelope durably and returns its id; wakes or notifies the recipient afterwards. */
  async post(mailbox: Uint8Array, body: Uint8Array): Promise<Buffer> {
    if (!this.accepting) this.reject('shutting_down', 'the relay is shutting down', 5);
    this.checkSize(body.length);
    const store = this.requireStore();
    const started = this.clock();
    const write = store.put(mailbox, body, this.deps.now());
    this.track(write);
    let id: Buffer;
    try {
      id = await write;
    } catch (err) {
      if (err instanceof RelayError) this.deps.metrics.rejected(err.code);
      throw err;
    }
    this.deps.metrics.stored((this.clock() - started) / 1000);
    this.announce(mailbox);
    return id;
  }

  async list(mailbox: Uint8Array, afterId: Uint8Array | undefined, limit: number): Promise<StoredEnvelope[]> {
    return this.requireStore().list(mailbox, afterId, limit);
  }

  async ack(mailbox: Uint8Array, ids: readonly Uint8Array[]): Promise<number> {
    const done = this.requireStore().ack(mailbox, ids);
    this.track(done);
    const deleted = await done;
    this.deps.metrics.delivered(deleted);
    return deleted;
  }

  async registerPush(mailbox: Uint8Array, provider: string, token: string): Promise<void> {
    if (!this.deps.wakes.hasProvider(provider)) this.reject('unknown_provider', `no push provider "${provider}" is configured`);
    // Each registration (apps re-register as they reconnect) keeps the target for pushTargetTtlSec more.
    const now = this.deps.now();
    await this.requireStore().setPushTarget(mailbox, { provider, token }, now + this.deps.config.pushTargetTtlSec * 1000, now);
  }

  /** Adds an authenticated reader (the notifier's policy decides whom it replaces past the cap). */
  addReader(mailbox: Uint8Array, reader: MailboxReader): void {
    this.deps.notifier.addReader(mailbox, reader);
  }

  removeReader(mailbox: Uint8Array, reader: MailboxReader): void {
    this.deps.notifier.removeReader(mailbox, reader);
  }

  async expire(): Promise<number> {
    const store = this.store;
    if (store === undefined) return 0;
    const n = await store.expire(this.deps.now() - this.deps.config.ttlSec * 1000);
    this.deps.metrics.expired(n);
    await store.expirePushTargets(this.deps.now());
    return n;
  }

  storeStats(): { envelopes: number; bytes: number } | undefined {
    return this.store?.stats();
  }

  /**
   * Refuses new work from now on and resolves once the store writes and deletes in flight have
   * settled (the caller bounds the wait: the core holds no timer).
   */
  drain(): Promise<void> {
    this.accepting = false;
    return Promise.allSettled([...this.inflight]).then(() => undefined);
  }

  /** Counts a refusal under its code and returns it, for front ends that answer rather than throw. */
  refusal(code: RelayError['code'], message: string, retryAfterSec?: number): RelayError {
    this.deps.metrics.rejected(code);
    return new RelayError(code, message, retryAfterSec === undefined ? {} : { retryAfterSec });
  }

  /** Counts a refusal under its code and throws it. */
  reject(code: RelayError['code'], message: string, retryAfterSec?: number): never {
    throw this.refusal(code, message, retryAfterSec);
  }

  private announce(mailbox: Uint8Array): void {
    const reached = this.deps.notifier.notify(mailbox);
    if (reached === true) return;
    const wake = (): void => this.deps.wakes.onEnvelopeWithoutReader(mailbox, () => this.store?.getPushTarget(mailbox, this.deps.now()));
    if (reached === false) return wake();
    reached.then((yes) => yes || wake(), wake);
  }

  private requireStore(): EnvelopeStore {
    if (this.store === undefined) this.reject('store_unavailable', 'the envelope store is not open', 5);
    return this.store;
  }

  private track(p: Promise<unknown>): void {
    this.inflight.add(p);
    const forget = (): void => void this.inflight.delete(p);
    p.then(forget, forget);
  }
}
