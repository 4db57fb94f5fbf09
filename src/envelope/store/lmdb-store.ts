/**
 * The embedded default store, on LMDB (lmdb-js ships prebuilt binaries: nothing to install).
 * Layout, all keys binary:
 *   envelopes: mailbox(32) || id(16)  -> body       (range scans give a mailbox's envelopes in order)
 *   expiry:    id(16) || mailbox(32)  -> empty      (ids start with arrival ms: a range scan finds the expired)
 *   push:      mailbox(32)            -> JSON { provider, token, expiresAtMs }
 *   meta:      'usage'                -> usage snapshot (usage-snapshot.ts), present only between a
 *                                        clean close and the next open
 * Durability: `overlappingSync: false`, so a write's promise resolves after LMDB's commit, which
 * fsyncs. Writes from one event-loop turn share one transaction (lmdb-js batching): group commit.
 */
import { mkdirSync } from 'node:fs';
import { open, type Database, type RootDatabase } from 'lmdb';
import { RelayError } from '../../errors.js';
import { type EnvelopeStore, type PushTarget, type StoreLimits, type StoredEnvelope, UsageTracker } from './envelope-store.js';
import { EnvelopeIdGenerator } from './envelope-ids.js';
import { ENVELOPE_ID_BYTES, MAILBOX_ID_BYTES, envelopeArrivalMs } from '../../wire/envelope-protocol.js';
import { decodeUsageSnapshot, encodeUsageSnapshot } from './usage-snapshot.js';

type BinDb = Database<Buffer, Buffer>;
const KEY_BYTES = MAILBOX_ID_BYTES + ENVELOPE_ID_BYTES;
const EMPTY = Buffer.alloc(0);
const USAGE_KEY = 'usage';

export class LmdbEnvelopeStore implements EnvelopeStore {
  private readonly usage: UsageTracker;
  private ids = new EnvelopeIdGenerator();
  private closed = false;
  /** How the usage counters were rebuilt at open: from a clean close's snapshot, or by a full scan. */
  usageSource: 'snapshot' | 'scan' = 'scan';
  /** Writes (put, ack, expire) not yet settled, counters included: a snapshot waits for zero. */
  private writes = 0;
  /**
   * Keys whose delete is queued but not yet committed. Reads inside a batch do not see the batch's
   * own pending writes, so without this an ack racing a repeated ack (or an expiry sweep) of the
   * same envelope would count its bytes free twice.
   */
  private readonly deleting = new Set<string>();

  private constructor(
    private readonly root: RootDatabase,
    private readonly envelopes: BinDb,
    private readonly expiryIndex: BinDb,
    private readonly push: Database<Buffer, string>,
    private readonly meta: Database<Buffer, string>,
    private readonly limits: StoreLimits,
  ) {
    this.usage = new UsageTracker(limits);
  }

  static open(dir: string, limits: StoreLimits): LmdbEnvelopeStore {
    mkdirSync(dir, { recursive: true });
    const root = open({ path: `${dir}/envelopes.lmdb`, compression: false, overlappingSync: false });
    const opts = { keyEncoding: 'binary', encoding: 'binary' } as const;
    const store = new LmdbEnvelopeStore(
      root,
      root.openDB<Buffer, Buffer>({ name: 'envelopes', ...opts }),
      root.openDB<Buffer, Buffer>({ name: 'expiry', ...opts }),
      root.openDB<Buffer, string>({ name: 'push', encoding: 'binary' }),
      root.openDB<Buffer, string>({ name: 'meta', encoding: 'binary' }),
      limits,
    );
    store.rebuildUsage();
    return store;
  }

  /**
   * Usage counters come from the snapshot a clean close left, else from a scan of every envelope.
   * The snapshot is removed (durably) before the store takes any write, so after a crash there is
   * none and the scan runs: counters never come from a state older than the data. The snapshot
   * must also be the store's last transaction: any later writer voids it.
   * The id floor is the newest id in the expiry index (ids lead its keys), one read either way.
   */
  private rebuildUsage(): void {
    const raw = this.meta.getBinary(USAGE_KEY);
    const snap = raw === undefined ? undefined : decodeUsageSnapshot(raw);
    const lastTxnId = (this.root.getStats() as { lastTxnId: number }).lastTxnId;
    if (raw !== undefined) this.meta.removeSync(USAGE_KEY);
    if (snap !== undefined && snap.txnId === lastTxnId && snap.totalCount === (this.envelopes.getStats() as { entryCount: number }).entryCount) {
      for (const e of snap.entries) this.usage.add(e.key, e.count, e.bytes);
      this.usageSource = 'snapshot';
    } else {
      for (const { key, value } of this.envelopes.getRange({})) this.usage.add(key.subarray(0, MAILBOX_ID_BYTES).toString('latin1'), 1, value.length);
      this.usageSource = 'scan';
    }
    let newest = 0;
    for (const key of this.expiryIndex.getKeys({ reverse: true, limit: 1 })) newest = envelopeArrivalMs(key.subarray(0, ENVELOPE_ID_BYTES));
    this.ids = new EnvelopeIdGenerator(newest);
  }

  async put(mailbox: Uint8Array, body: Uint8Array, nowMs: number): Promise<Buffer> {
    this.assertOpen();
    return this.counted(this.doPut(mailbox, body, nowMs));
  }

  private async doPut(mailbox: Uint8Array, body: Uint8Array, nowMs: number): Promise<Buffer> {
    const mkey = Buffer.from(mailbox).toString('latin1');
    this.usage.reserve(mkey, body.length);
    const id = this.ids.next(nowMs);
    const key = Buffer.concat([mailbox, id], KEY_BYTES);
    const indexKey = Buffer.concat([id, mailbox], KEY_BYTES);
    try {
      await this.envelopes.batch(() => {
        void this.envelopes.put(key, Buffer.from(body));
        void this.expiryIndex.put(indexKey, EMPTY);
      });
    } catch (err) {
      this.usage.release(mkey, body.length);
      throw new RelayError('store_unavailable', 'the envelope store could not take the write; retry later'); // no backend detail to an anonymous client
    }
    return id;
  }

  async list(mailbox: Uint8Array, afterId: Uint8Array | undefined, limit: number): Promise<StoredEnvelope[]> {
    this.assertOpen();
    // start after afterId: a key one byte longer than mailbox||afterId sorts right after it.
    const start = afterId === undefined ? Buffer.from(mailbox) : Buffer.concat([mailbox, afterId, Buffer.of(0)]);
    const end = Buffer.concat([mailbox, Buffer.alloc(ENVELOPE_ID_BYTES + 1, 0xff)]);
    const out: StoredEnvelope[] = [];
    for (const { key, value } of this.envelopes.getRange({ start, end, limit })) {
      out.push({ id: Buffer.from(key.subarray(MAILBOX_ID_BYTES)), body: value });
    }
    return out;
  }

  async ack(mailbox: Uint8Array, ids: readonly Uint8Array[]): Promise<number> {
    this.assertOpen();
    return this.counted(this.doAck(mailbox, ids));
  }

  private async doAck(mailbox: Uint8Array, ids: readonly Uint8Array[]): Promise<number> {
    const mkey = Buffer.from(mailbox).toString('latin1');
    let deleted = 0;
    let bytes = 0;
    const claimed: string[] = [];
    try {
      await this.envelopes.batch(() => {
        for (const id of ids) {
          const key = Buffer.concat([mailbox, id], KEY_BYTES);
          const body = this.claim(key, claimed);
          if (body === undefined) continue;
          deleted++;
          bytes += body.length;
          void this.envelopes.remove(key);
          void this.expiryIndex.remove(Buffer.concat([id, mailbox], KEY_BYTES));
        }
      });
    } catch (err) {
      throw new RelayError('store_unavailable', `store delete failed: ${(err as Error).message}`);
    } finally {
      for (const k of claimed) this.deleting.delete(k);
    }
    if (deleted > 0) this.usage.add(mkey, -deleted, -bytes);
    return deleted;
  }

  async expire(cutoffMs: number): Promise<number> {
    this.assertOpen();
    return this.counted(this.doExpire(cutoffMs));
  }

  private async doExpire(cutoffMs: number): Promise<number> {
    const end = Buffer.alloc(6);
    end.writeUIntBE(Math.max(0, Math.min(cutoffMs, 2 ** 48 - 1)), 0, 6);
    let expired = 0;
    // Bounded batches keep one sweep from holding the write lock for long.
    for (;;) {
      const victims = Array.from(this.expiryIndex.getKeys({ end, limit: 1000 }));
      if (victims.length === 0) return expired;
      const freed = new Map<string, { count: number; bytes: number }>();
      const claimed: string[] = [];
      try {
        await this.envelopes.batch(() => {
          for (const indexKey of victims) {
            const id = indexKey.subarray(0, ENVELOPE_ID_BYTES);
            const mailbox = indexKey.subarray(ENVELOPE_ID_BYTES);
            const key = Buffer.concat([mailbox, id], KEY_BYTES);
            const body = this.claim(key, claimed);
            void this.expiryIndex.remove(indexKey);
            if (body === undefined) continue;
            void this.envelopes.remove(key);
            const f = freed.get(mailbox.toString('latin1')) ?? { count: 0, bytes: 0 };
            f.count++;
            f.bytes += body.length;
            freed.set(mailbox.toString('latin1'), f);
          }
        });
      } finally {
        for (const k of claimed) this.deleting.delete(k);
      }
      for (const [mkey, f] of freed) {
        this.usage.add(mkey, -f.count, -f.bytes);
        expired += f.count;
      }
    }
  }

  private async counted<T>(op: Promise<T>): Promise<T> {
    this.writes++;
    try {
      return await op;
    } finally {
      this.writes--;
    }
  }

  /** The body of a stored envelope not already being deleted, now claimed for deletion. */
  private claim(key: Buffer, claimed: string[]): Buffer | undefined {
    const k = key.toString('latin1');
    if (this.deleting.has(k)) return undefined;
    const body = this.envelopes.getBinary(key);
    if (body === undefined) return undefined;
    this.deleting.add(k);
    claimed.push(k);
    return body;
  }

  /**
   * A mailbox's first target counts against `pushMaxTargets`: targets stored (expired ones until the
   * sweep removes them) plus first registrations still being written, so concurrent ones cannot overshoot.
   */
  async setPushTarget(mailbox: Uint8Array, target: PushTarget, expiresAtMs: number): Promise<void> {
    this.assertOpen();
    const key = Buffer.from(mailbox).toString('base64url');
    const record = Buffer.from(JSON.stringify({ provider: target.provider, token: target.token, expiresAtMs } satisfies StoredPushTarget));
    if (this.push.getBinary(key) !== undefined) return void (await this.push.put(key, record));
    if ((this.push.getStats() as { entryCount: number }).entryCount + this.pushAdding >= this.limits.pushMaxTargets) {
      throw new RelayError('push_targets_full', 'the relay keeps as many push targets as it may; registrations of new mailboxes wait for targets to expire');
    }
    this.pushAdding++;
    try {
      await this.push.put(key, record);
    } finally {
      this.pushAdding--;
    }
  }

  /** First registrations being written (see setPushTarget). */
  private pushAdding = 0;

  async getPushTarget(mailbox: Uint8Array, nowMs: number): Promise<PushTarget | undefined> {
    this.assertOpen();
    const raw = this.push.getBinary(Buffer.from(mailbox).toString('base64url'));
    if (raw === undefined) return undefined;
    const t = JSON.parse(raw.toString('utf8')) as StoredPushTarget;
    return isExpired(t, nowMs) ? undefined : { provider: t.provider, token: t.token };
  }

  /**
   * Deletes expired push targets, scanning at most PUSH_SWEEP_SCAN of them from where the last
   * sweep stopped (a full pass over a million targets takes ~100 sweeps), so one sweep stays short.
   */
  async expirePushTargets(nowMs: number): Promise<number> {
    this.assertOpen();
    const scanned = Array.from(this.push.getRange({ ...(this.pushSweepFrom !== undefined ? { start: this.pushSweepFrom } : {}), limit: PUSH_SWEEP_SCAN }));
    // Next time start just past the last key seen (keys are base64url text), or from the top after a full pass.
    this.pushSweepFrom = scanned.length < PUSH_SWEEP_SCAN ? undefined : `${scanned[scanned.length - 1]!.key}\u0000`;
    const expired = scanned.filter(({ value }) => isExpired(JSON.parse(value.toString('utf8')) as StoredPushTarget, nowMs));
    if (expired.length === 0) return 0;
    await this.counted(this.push.batch(() => {
      for (const { key } of expired) void this.push.remove(key);
    }));
    return expired.length;
  }

  stats(): { envelopes: number; bytes: number } {
    return { envelopes: this.usage.total.count, bytes: this.usage.total.bytes };
  }

  /** Where the next push-target sweep starts (undefined: from the first key). */
  private pushSweepFrom: string | undefined;

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.root.flushed;
    // The counters are exact once every write has settled (the service drains before closing the
    // store, so this is quick); if some never do, no snapshot is left and the next open scans.
    for (let spins = 0; this.writes > 0 && spins < 1000; spins++) await new Promise((r) => setImmediate(r));
    if (this.writes === 0) {
      const txnId = (this.root.getStats() as { lastTxnId: number }).lastTxnId + 1;
      await this.meta.put(USAGE_KEY, encodeUsageSnapshot(this.usage.entries(), this.usage.total.count, txnId));
    }
    await this.root.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new RelayError('store_unavailable', 'the store is closed');
  }
}

/** Push targets one sweep looks at, at most. */
const PUSH_SWEEP_SCAN = 10_000;

/** A push target as stored; targets written before expiry existed carry none and never expire. */
interface StoredPushTarget extends PushTarget {
  readonly expiresAtMs?: number;
}

function isExpired(t: StoredPushTarget, nowMs: number): boolean {
  return t.expiresAtMs !== undefined && t.expiresAtMs <= nowMs;
}
