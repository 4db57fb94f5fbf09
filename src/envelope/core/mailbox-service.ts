/**
 * The envelope plane's logic, transport-agnostic: validate and store posts, track live readers,
 * notify them, and decide wakes. HTTP and WebSocket front ends call into it; it never sees an
 * address beyond the opaque rate-limit key it is handed, and it never parses an envelope.
 */
import type { RelayConfig } from '../../config/schema.js';
import { RelayError } from '../../errors.js';
import type { EnvelopeStore, StoredEnvelope } from '../store/envelope-store.js';
import type { EnvelopeMetrics } from '../server/envelope-metrics.js';
import { RateLimiter } from '../../limits/rate-limiter.js';
import type { WakeDispatcher } from '../push/wake-dispatcher.js';

/** A live reader connection; the service calls it when its mailbox may have something new. */
export interface MailboxReader {
  onEnvelopesAvailable(): void;
  /** A newer reader of the same mailbox took this one's place; close it. */
  onReplaced(): void;
}

export interface MailboxServiceDeps {
  config: RelayConfig['envelope'];
  metrics: EnvelopeMetrics;
  wakes: WakeDispatcher;
  now: () => number;
}

export class MailboxService {
  private store: EnvelopeStore | undefined;
  private readonly readers = new Map<string, Set<MailboxReader>>();
  private readonly limiter: RateLimiter;
  private readonly buckets: ReadonlySet<number>;
  private readonly inflight = new Set<Promise<unknown>>();
  private accepting = true;

  constructor(private readonly deps: MailboxServiceDeps) {
    this.limiter = new RateLimiter(deps.config.postRatePerSec, deps.config.postBurst);
    this.buckets = new Set(deps.config.sizeBuckets);
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
    const started = process.hrtime.bigint();
    const write = store.put(mailbox, body, this.deps.now());
    this.track(write);
    let id: Buffer;
    try {
      id = await write;
    } catch (err) {
      if (err instanceof RelayError) this.deps.metrics.rejected.inc(1, err.code);
      throw err;
    }
    this.deps.metrics.storeWriteSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
    this.deps.metrics.stored.inc();
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
    this.deps.metrics.delivered.inc(deleted);
    return deleted;
  }

  async registerPush(mailbox: Uint8Array, provider: string, token: string): Promise<void> {
    if (!this.deps.wakes.hasProvider(provider)) this.reject('unknown_provider', `no push provider "${provider}" is configured`);
    await this.requireStore().setPushTarget(mailbox, { provider, token });
  }

  /**
   * Adds an authenticated reader. Past `maxReadersPerMailbox` the oldest reader of the mailbox is
   * replaced rather than the new one refused: only the key holder can authenticate, so the readers
   * replaced are the key holder's own, and the newest connection is the one most likely alive (a
   * device that reconnects after a network change must not wait for its half-open old socket to
   * time out). Several devices sharing a key each keep a reader up to the cap.
   */
  addReader(mailbox: Uint8Array, reader: MailboxReader): void {
    const key = mailboxKey(mailbox);
    let set = this.readers.get(key);
    if (set === undefined) this.readers.set(key, (set = new Set()));
    while (set.size >= this.deps.config.maxReadersPerMailbox) {
      const oldest = set.values().next().value!; // a Set iterates in insertion order
      set.delete(oldest);
      this.deps.metrics.readers.add(-1);
      oldest.onReplaced();
    }
    set.add(reader);
    this.deps.metrics.readers.add(1);
  }

  removeReader(mailbox: Uint8Array, reader: MailboxReader): void {
    const key = mailboxKey(mailbox);
    const set = this.readers.get(key);
    if (set?.delete(reader) !== true) return;
    if (set.size === 0) this.readers.delete(key);
    this.deps.metrics.readers.add(-1);
  }

  async expire(): Promise<number> {
    const store = this.store;
    if (store === undefined) return 0;
    const n = await store.expire(this.deps.now() - this.deps.config.ttlSec * 1000);
    this.deps.metrics.expired.inc(n);
    return n;
  }

  storeStats(): { envelopes: number; bytes: number } | undefined {
    return this.store?.stats();
  }

  /** Refuse new work, then wait (up to graceMs) for in-flight store writes and deletes. */
  async drain(graceMs: number): Promise<void> {
    this.accepting = false;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([Promise.allSettled([...this.inflight]), timeout]);
    clearTimeout(timer);
  }

  /** Counts a refusal under its code and returns it, for front ends that answer rather than throw. */
  refusal(code: RelayError['code'], message: string, retryAfterSec?: number): RelayError {
    this.deps.metrics.rejected.inc(1, code);
    return new RelayError(code, message, retryAfterSec === undefined ? {} : { retryAfterSec });
  }

  /** Counts a refusal under its code and throws it. */
  reject(code: RelayError['code'], message: string, retryAfterSec?: number): never {
    throw this.refusal(code, message, retryAfterSec);
  }

  private announce(mailbox: Uint8Array): void {
    const set = this.readers.get(mailboxKey(mailbox));
    if (set !== undefined && set.size > 0) {
      for (const reader of set) reader.onEnvelopesAvailable();
      return;
    }
    this.deps.wakes.onEnvelopeWithoutReader(mailbox, () => this.store?.getPushTarget(mailbox));
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

export function mailboxKey(mailbox: Uint8Array): string {
  return Buffer.from(mailbox.buffer, mailbox.byteOffset, mailbox.byteLength).toString('latin1');
}
