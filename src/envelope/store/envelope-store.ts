/**
 * The envelope store contract. A store holds, per envelope, exactly: mailbox id, envelope id (which
 * carries the arrival time) and the opaque bytes. No address, no sender, nothing else. An embedded
 * LMDB store is the default; a Redis store for clusters implements the same interface.
 */
import { RelayError } from '../../errors.js';

export interface StoredEnvelope {
  readonly id: Buffer;
  readonly body: Buffer;
}

/** Where a content-free wake for a mailbox goes: a provider name and its opaque device token. */
export interface PushTarget {
  readonly provider: string;
  readonly token: string;
}

export interface StoreLimits {
  mailboxMaxCount: number;
  mailboxMaxBytes: number;
  storeMaxBytes: number;
  /** Most push targets kept (one per mailbox); a new mailbox's registration past it is `push_targets_full`. */
  pushMaxTargets: number;
}

export interface EnvelopeStore {
  /**
   * Stores the envelope and resolves with its id only once it is durable (fsync'd).
   * Rejects with RelayError `mailbox_full` (quota) or `store_unavailable`.
   */
  put(mailbox: Uint8Array, body: Uint8Array, nowMs: number): Promise<Buffer>;
  /** Up to `limit` envelopes of the mailbox after `afterId` (exclusive), oldest first. */
  list(mailbox: Uint8Array, afterId: Uint8Array | undefined, limit: number): Promise<StoredEnvelope[]>;
  /** Deletes the given envelopes of the mailbox; unknown ids are ignored. Resolves with the count deleted. */
  ack(mailbox: Uint8Array, ids: readonly Uint8Array[]): Promise<number>;
  /** Deletes every envelope that arrived before `cutoffMs`; resolves with the count deleted. */
  expire(cutoffMs: number): Promise<number>;
  /**
   * Stores the mailbox's push target until `expiresAtMs` (a new registration replaces it and its
   * expiry). Rejects with `push_targets_full` when the mailbox has none and `pushMaxTargets` are
   * kept (expired targets not yet swept count until `nowMs` passes them).
   */
  setPushTarget(mailbox: Uint8Array, target: PushTarget, expiresAtMs: number, nowMs: number): Promise<void>;
  /** The mailbox's push target, or undefined when there is none or it expired (by `nowMs`). */
  getPushTarget(mailbox: Uint8Array, nowMs: number): Promise<PushTarget | undefined>;
  /** Deletes push targets expired by `nowMs` (a backend whose keys expire by themselves does nothing); resolves with the count. */
  expirePushTargets(nowMs: number): Promise<number>;
  stats(): { envelopes: number; bytes: number };
  close(): Promise<void>;
}

/** Per-mailbox and global usage, kept beside the store so quota checks cost no I/O. */
export class UsageTracker {
  private readonly perMailbox = new Map<string, { count: number; bytes: number }>();
  total = { count: 0, bytes: 0 };

  constructor(private readonly limits: StoreLimits) {}

  /** Reserves room for one envelope or throws `mailbox_full`; release() undoes a failed write. */
  reserve(key: string, bytes: number): void {
    const used = this.perMailbox.get(key) ?? { count: 0, bytes: 0 };
    if (used.count + 1 > this.limits.mailboxMaxCount || used.bytes + bytes > this.limits.mailboxMaxBytes) {
      throw new RelayError('mailbox_full', 'the mailbox is at its quota; the reader must acknowledge envelopes first');
    }
    if (this.total.bytes + bytes > this.limits.storeMaxBytes) {
      throw new RelayError('mailbox_full', 'the relay is at its storage cap');
    }
    this.add(key, 1, bytes);
  }

  release(key: string, bytes: number): void {
    this.add(key, -1, -bytes);
  }

  /** Every mailbox holding envelopes, with its usage (for the clean-close snapshot). */
  entries(): Array<{ key: string; count: number; bytes: number }> {
    return Array.from(this.perMailbox, ([key, u]) => ({ key, count: u.count, bytes: u.bytes }));
  }

  add(key: string, count: number, bytes: number): void {
    const used = this.perMailbox.get(key) ?? { count: 0, bytes: 0 };
    used.count += count;
    used.bytes += bytes;
    if (used.count <= 0) this.perMailbox.delete(key);
    else this.perMailbox.set(key, used);
    this.total.count += count;
    this.total.bytes += bytes;
  }
}
