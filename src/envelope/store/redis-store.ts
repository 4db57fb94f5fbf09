/**
 * The Redis envelope store, for cluster mode (several relay nodes sharing mailboxes). Same contract
 * as the LMDB store (envelope-store.ts): it holds mailbox id, envelope id (arrival ms inside) and the
 * opaque bytes, nothing else.
 *
 * Key layout (prefix `redis.keyPrefix`, default `xr:`); `{...}` is the Cluster hash tag:
 *   {<mailbox b64url>}:i   sorted set of envelope ids, all score 0: lex order = id order = arrival order
 *   {<mailbox b64url>}:b   hash id -> body
 *   {<mailbox b64url>}:u   hash c (count), b (bytes): the mailbox quota, removed when it empties
 *   {<mailbox b64url>}:p   push target (JSON provider + token), as in LMDB
 *   {global}:u             hash c, b: store-wide count and bytes (the global byte cap, stats())
 *   {global}:p             sorted set mailbox id -> push target expiry ms (the push-target cap)
 *   {exp-0..15}            expiry index shards: sorted set mailbox id -> its oldest arrival ms
 * A mailbox's keys share one slot, so put/list/ack/expire of a mailbox are each ONE atomic script,
 * and mailbox quotas hold across nodes. The global counter and the index shards live in other
 * slots (other nodes), so they cannot join a mailbox script; see put() and expire() for the order
 * that keeps them safe.
 */
import { Cluster } from 'ioredis';
import { RelayError } from '../../errors.js';
import { type EnvelopeStore, type PushTarget, type StoreLimits, type StoredEnvelope } from './envelope-store.js';
import { EnvelopeIdGenerator } from './envelope-ids.js';
import { envelopeArrivalMs } from '../../wire/envelope-protocol.js';
import { checkDurability, connectRedis, type RedisClient, type RedisStoreOptions } from './redis-connect.js';

/** Index shards: a sweep walks them all; 16 spreads the index over the masters of a small Cluster. */
export const EXPIRY_SHARDS = 16;
/** A claimed mailbox not finished by its sweeper is due again once cutoffs move this far past it. */
const SWEEP_LEASE_MS = 60_000;
const SWEEP_BATCH = 500;
const MAX_MS = 2 ** 48 - 1;
const STATS_REFRESH_MS = 2_000;
/** Retry-After of a refusal while Redis is away: the client reconnects within about a second. */
const RETRY_AFTER_SEC = 1;

type Reply = Array<number | Buffer>;
/** The scripts registered by connectRedis (ioredis adds a `...Buffer` twin that keeps bytes). */
interface Scripts {
  xrPutBuffer(i: string, b: string, u: string, id: Buffer, body: Uint8Array, maxCount: number, maxBytes: number): Promise<Reply>;
  xrPutOneBuffer(i: string, b: string, u: string, g: string, shard: string, id: Buffer, body: Uint8Array, maxCount: number, maxBytes: number, storeMax: number, mailbox: Buffer): Promise<Reply>;
  xrListBuffer(i: string, b: string, after: Uint8Array | string, limit: number): Promise<Buffer[]>;
  xrAck(i: string, b: string, u: string, ...ids: Uint8Array[]): Promise<[number, number, number, number]>;
  xrAckOne(i: string, b: string, u: string, g: string, ...ids: Uint8Array[]): Promise<[number, number, number, number]>;
  xrExpireBuffer(i: string, b: string, u: string, cutoff: Buffer, limit: number): Promise<[number, number, Buffer, number, number]>;
  xrExpireOneBuffer(i: string, b: string, u: string, g: string, cutoff: Buffer, limit: number): Promise<[number, number, Buffer, number, number]>;
  xrReserve(g: string, bytes: number, cap: number): Promise<[number, number, number]>;
  xrPushAdmit(index: string, mailbox: string, expiresAtMs: number, nowMs: number, cap: number): Promise<number>;
  xrAdjust(g: string, count: number, bytes: number): Promise<[number, number]>;
  xrClaimBuffer(shard: string, cutoff: number, lease: number, limit: number): Promise<Buffer[]>;
  xrRelease(shard: string, mailbox: Buffer, lease: number): Promise<number>;
  xrReindex(shard: string, mailbox: Buffer, lease: number, arrivalMs: number): Promise<number>;
}

export interface RedisStoreHooks {
  /** Start-up warnings (CONFIG refused with assumeDurable); the plane logs them. */
  warn?: (msg: string) => void;
}

export class RedisEnvelopeStore implements EnvelopeStore {
  private readonly ids = new EnvelopeIdGenerator();
  private readonly scripts: Scripts;
  private readonly globalKey: string;
  private readonly pushIndexKey: string;
  private totals = { envelopes: 0, bytes: 0 };
  private closed = false;
  private readonly refresh: NodeJS.Timeout;

  /**
   * @param writer the connection that carries puts and their WAIT: with `durability: wait` a
   *   connection of its own, because WAIT blocks the connection that sends it (for up to
   *   `waitTimeoutMs` when replicas lag or are gone) and every command queued behind it. Reads,
   *   acks and sweeps then never wait behind a put's WAIT. With `aof` it is `client`.
   */
  private constructor(
    private readonly client: RedisClient,
    private readonly writer: RedisClient,
    private readonly opts: RedisStoreOptions,
    private readonly limits: StoreLimits,
  ) {
    this.scripts = client as unknown as Scripts;
    this.globalKey = `${opts.keyPrefix}{global}:u`;
    this.pushIndexKey = `${opts.keyPrefix}{global}:p`;
    // stats() is synchronous; other nodes' writes show up on the next refresh.
    this.refresh = setInterval(() => void this.refreshStats().catch(() => {}), STATS_REFRESH_MS).unref();
  }

  static async open(opts: RedisStoreOptions, limits: StoreLimits, hooks: RedisStoreHooks = {}): Promise<RedisEnvelopeStore> {
    const client = await connectRedis(opts);
    let writer: RedisClient = client;
    try {
      await checkDurability(client, opts, hooks.warn ?? (() => {}));
      if (opts.durability === 'wait') writer = await connectRedis(opts);
      const store = new RedisEnvelopeStore(client, writer, opts, limits);
      await store.refreshStats();
      return store;
    } catch (err) {
      client.disconnect();
      writer.disconnect();
      throw err;
    }
  }

  /**
   * On one Redis instance, reserve, store and index are one script (PUT_ONE_LUA): one round trip.
   * On a Cluster the global counter and the index shard live in other slots, so three steps:
   * 1. the global counter takes the bytes (refused past storeMaxBytes): reserve-then-commit, so the
   *    cap is never exceeded by stored data; a post refused later gives them back. Posts in flight
   *    may hold reservations for a moment (the cap bites early by them, never late); a node dying
   *    between 1 and 2, or a write whose outcome is unknown, leaves the counter high by that post
   *    until reconcileUsage() runs.
   * 2. the mailbox script checks the mailbox quota and stores id and body atomically (one slot, so
   *    two nodes posting to one mailbox cannot both pass its quota).
   * 3. the expiry index learns the mailbox (ZADD LT: keeps the oldest). After the write, never
   *    before: see expire() for why that order loses no entry.
   * The put resolves after the last step: with appendfsync always each reply came after Redis's
   * fsync; with `durability: wait`, WAIT follows the write on the same connection (a pipeline routed
   * to the mailbox's node, on the writer connection), and fewer replicas than asked is store_unavailable.
   */
  async put(mailbox: Uint8Array, body: Uint8Array, nowMs: number): Promise<Buffer> {
    this.assertOpen();
    const [i, b, u] = this.mailboxKeys(mailbox);
    const id = this.ids.next(nowMs);
    if (!this.opts.cluster) {
      const m = Buffer.from(mailbox);
      const r = await this.durably((p) => p.xrPutOneBuffer(i, b, u, this.globalKey, this.shardKey(m), id, body, this.limits.mailboxMaxCount, this.limits.mailboxMaxBytes, this.limits.storeMaxBytes, m));
      this.noteTotals(r[1] as number, r[2] as number);
      if (r[0] === -1) throw capFull();
      if (r[0] === 0) throw quotaFull();
      return r[3] as Buffer;
    }
    const reserved = await this.call(this.scripts.xrReserve(this.globalKey, body.length, this.limits.storeMaxBytes));
    this.noteTotals(reserved[1], reserved[2]);
    if (reserved[0] === 0) throw capFull();
    // A failure here keeps the reservation: the write may have happened (see above).
    let r: Reply;
    try {
      r = await this.durably((p) => p.xrPutBuffer(i, b, u, id, body, this.limits.mailboxMaxCount, this.limits.mailboxMaxBytes));
    } catch (err) {
      // Refused after the write (WAIT short of replicas) or outcome unknown: the envelope may be
      // stored, so index it anyway or no sweep would ever reach it. Our id's arrival is at most the
      // stored one's (the script only bumps ids up): the entry is due no later than the envelope.
      await this.client.zadd(this.shardKey(mailbox), 'LT', envelopeArrivalMs(id), Buffer.from(mailbox)).catch(() => {});
      throw err;
    }
    if (r[0] === 0) {
      await this.adjust(-1, -body.length).catch(() => {});
      throw quotaFull();
    }
    const stored = r[1] as Buffer;
    await this.call(this.client.zadd(this.shardKey(mailbox), 'LT', envelopeArrivalMs(stored), Buffer.from(mailbox)));
    return stored;
  }

  /** Runs one write script, then WAIT on the same connection when `durability` is `wait`. */
  private async durably(write: (p: Scripts) => unknown): Promise<Reply> {
    const pipe = this.writer.pipeline();
    write(pipe as unknown as Scripts);
    const waiting = this.opts.durability === 'wait';
    if (waiting) pipe.wait(this.opts.waitReplicas, this.opts.waitTimeoutMs);
    const res = await this.call(pipe.exec());
    const failed = res?.find(([err]) => err !== null);
    if (res === null || failed !== undefined) throw unavailable(failed?.[0] ?? new Error('pipeline aborted'));
    const reply = res[0]![1] as Reply;
    const acked = waiting ? (res[1]![1] as number) : 0;
    if (waiting && reply[0] === 1 && acked < this.opts.waitReplicas) {
      // Stored on the primary but not acknowledged by enough replicas: not durable as configured.
      // The sender retries; this copy stays and may be delivered too (delivery is at least once).
      throw new RelayError('store_unavailable', `only ${acked} of ${this.opts.waitReplicas} Redis replicas acknowledged the write in time`, { retryAfterSec: RETRY_AFTER_SEC });
    }
    return reply;
  }

  async list(mailbox: Uint8Array, afterId: Uint8Array | undefined, limit: number): Promise<StoredEnvelope[]> {
    this.assertOpen();
    const [i, b] = this.mailboxKeys(mailbox);
    const flat = await this.call(this.scripts.xrListBuffer(i, b, afterId === undefined ? '' : Buffer.from(afterId), limit));
    const out: StoredEnvelope[] = [];
    for (let k = 0; k + 1 < flat.length; k += 2) out.push({ id: flat[k]!, body: flat[k + 1]! });
    return out;
  }

  async ack(mailbox: Uint8Array, ids: readonly Uint8Array[]): Promise<number> {
    this.assertOpen();
    if (ids.length === 0) return 0;
    const [i, b, u] = this.mailboxKeys(mailbox);
    const list = ids.map((id) => Buffer.from(id));
    if (!this.opts.cluster) {
      const [n, , gc, gb] = await this.call(this.scripts.xrAckOne(i, b, u, this.globalKey, ...list));
      this.noteTotals(gc, gb);
      return n;
    }
    const [n, bytes] = await this.call(this.scripts.xrAck(i, b, u, ...list));
    if (n > 0) await this.adjust(-n, -bytes);
    return n;
  }

  /**
   * The sweep, safe with any number of nodes sweeping and posting at once. Per index shard:
   *   t1 claim: mailboxes whose oldest arrival is before the cutoff get a lease score (past the cutoff);
   *   t2 the mailbox script deletes what expired and returns the oldest id left;
   *   t3 something left: the entry goes back to its arrival (set if it still holds the lease, else
   *      ZADD LT: a put meanwhile may have lowered it), due again then; nothing left: remove the
   *      entry only if its score is still the lease.
   * A put writes its envelope (p1) before it indexes it (p2). If p1 came before t2, t2 sees the
   * envelope and t3 keeps the entry; if after, p2 came after t1 and lowered the lease, so t3 keeps
   * it. No envelope is left unindexed; the worst is a stale entry, dropped by the next sweep.
   */
  async expire(cutoffMs: number): Promise<number> {
    this.assertOpen();
    const cutoff = Math.max(0, Math.min(Math.floor(cutoffMs), MAX_MS));
    const lease = Math.min(cutoff + SWEEP_LEASE_MS, MAX_MS);
    const cutoffId = Buffer.alloc(6);
    cutoffId.writeUIntBE(cutoff, 0, 6);
    let expired = 0;
    for (let s = 0; s < EXPIRY_SHARDS; s++) {
      const shard = `${this.opts.keyPrefix}{exp-${s}}`;
      for (;;) {
        const claimed = await this.call(this.scripts.xrClaimBuffer(shard, cutoff, lease, SWEEP_BATCH));
        if (claimed.length === 0) break;
        for (const mailbox of claimed) expired += await this.sweepMailbox(shard, mailbox, cutoffId, lease);
      }
    }
    await this.call(this.refreshStats()); // the sweep also brings stats() up to date with other nodes
    return expired;
  }

  private async sweepMailbox(shard: string, mailbox: Buffer, cutoffId: Buffer, lease: number): Promise<number> {
    const [i, b, u] = this.mailboxKeys(mailbox);
    let count = 0;
    let bytes = 0;
    let first: Buffer;
    for (;;) {
      const [n, nb, oldest] = await this.call(
        this.opts.cluster ? this.scripts.xrExpireBuffer(i, b, u, cutoffId, SWEEP_BATCH) : this.scripts.xrExpireOneBuffer(i, b, u, this.globalKey, cutoffId, SWEEP_BATCH),
      );
      count += n;
      bytes += nb;
      first = oldest;
      if (n < SWEEP_BATCH) break;
    }
    if (count > 0 && this.opts.cluster) await this.adjust(-count, -bytes);
    if (first.length > 0) await this.call(this.scripts.xrReindex(shard, mailbox, lease, envelopeArrivalMs(first)));
    else await this.call(this.scripts.xrRelease(shard, mailbox, lease));
    return count;
  }

  /**
   * Redis expires the key itself (PXAT), so expirePushTargets has nothing to do. The cap
   * (`pushMaxTargets`) is kept by an index in the global slot, trimmed of expired entries on each
   * registration; admitted first, so a target never exists outside it (a failed SET leaves an
   * entry that expires).
   */
  async setPushTarget(mailbox: Uint8Array, target: PushTarget, expiresAtMs: number, nowMs: number): Promise<void> {
    this.assertOpen();
    const at = Math.max(1, Math.floor(expiresAtMs));
    const admitted = await this.call(this.scripts.xrPushAdmit(this.pushIndexKey, Buffer.from(mailbox).toString('base64url'), at, Math.floor(nowMs), this.limits.pushMaxTargets));
    if (admitted !== 1) throw new RelayError('push_targets_full', 'the relay keeps as many push targets as it may; registrations of new mailboxes wait for targets to expire');
    await this.call(this.client.set(this.mailboxKeys(mailbox)[3], JSON.stringify({ provider: target.provider, token: target.token }), 'PXAT', at));
  }

  async expirePushTargets(): Promise<number> {
    return 0;
  }

  async getPushTarget(mailbox: Uint8Array): Promise<PushTarget | undefined> {
    this.assertOpen();
    const raw = await this.call(this.client.get(this.mailboxKeys(mailbox)[3]));
    return raw === null ? undefined : (JSON.parse(raw) as PushTarget);
  }

  /** Store-wide totals as of this node's last exchange with the global counter (at most ~2 s old). */
  stats(): { envelopes: number; bytes: number } {
    return { ...this.totals };
  }

  /**
   * Recounts the global counter from every mailbox's usage hash (SCAN on every primary). For an
   * operator after node crashes left reservations behind; exact only while no post is in flight.
   */
  async reconcileUsage(): Promise<{ envelopes: number; bytes: number }> {
    let count = 0;
    let bytes = 0;
    const nodes: RedisClient[] = this.client instanceof Cluster ? this.client.nodes('master') : [this.client];
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', `${this.opts.keyPrefix}{*}:u`, 'COUNT', 500);
        cursor = next;
        for (const key of keys) {
          if (key === this.globalKey) continue;
          const [c, b] = await node.hmget(key, 'c', 'b');
          count += Number(c ?? 0);
          bytes += Number(b ?? 0);
        }
      } while (cursor !== '0');
    }
    await this.call(this.client.hset(this.globalKey, 'c', count, 'b', bytes));
    this.noteTotals(count, bytes);
    return { envelopes: count, bytes };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.refresh);
    await this.client.quit().catch(() => this.client.disconnect());
    if (this.writer !== this.client) await this.writer.quit().catch(() => this.writer.disconnect());
  }

  private async refreshStats(): Promise<void> {
    const [c, b] = await this.client.hmget(this.globalKey, 'c', 'b');
    this.noteTotals(Number(c ?? 0), Number(b ?? 0));
  }

  private async adjust(count: number, bytes: number): Promise<void> {
    const [c, b] = await this.call(this.scripts.xrAdjust(this.globalKey, count, bytes));
    this.noteTotals(c, b);
  }

  private noteTotals(envelopes: number, bytes: number): void {
    this.totals = { envelopes: Number(envelopes), bytes: Number(bytes) };
  }

  /** ids, bodies, usage, push: one hash tag, one slot. */
  private mailboxKeys(mailbox: Uint8Array): [string, string, string, string] {
    const base = `${this.opts.keyPrefix}{${Buffer.from(mailbox).toString('base64url')}}`;
    return [`${base}:i`, `${base}:b`, `${base}:u`, `${base}:p`];
  }

  private shardKey(mailbox: Uint8Array): string {
    return `${this.opts.keyPrefix}{exp-${mailbox[0]! % EXPIRY_SHARDS}}`;
  }

  /** Maps a Redis failure to `store_unavailable`; our own RelayErrors pass through. */
  private async call<T>(op: Promise<T>): Promise<T> {
    try {
      return await op;
    } catch (err) {
      throw unavailable(err);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new RelayError('store_unavailable', 'the store is closed');
  }
}

function capFull(): RelayError {
  return new RelayError('mailbox_full', 'the relay is at its storage cap');
}

function quotaFull(): RelayError {
  return new RelayError('mailbox_full', 'the mailbox is at its quota; the reader must acknowledge envelopes first');
}

function unavailable(err: unknown): RelayError {
  if (err instanceof RelayError) return err;
  // No Redis host or port to an anonymous client; Retry-After as for any store_unavailable (README error table).
  return new RelayError('store_unavailable', 'the envelope store is unavailable; retry later', { retryAfterSec: RETRY_AFTER_SEC });
}
