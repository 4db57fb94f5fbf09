/**
 * The mailbox bus and the cluster-wide wake gate on Redis (cluster mode; the decisions are argued in
 * core/cluster-notifier.ts and README "Running a cluster").
 *
 * Channel: `<prefix>{<mailbox b64url>}:n`, sharded pub/sub (SSUBSCRIBE / SPUBLISH, Redis 7). The
 * hash tag is the mailbox's, so the channel lives in the slot of the mailbox's keys: on a Cluster an
 * SPUBLISH goes to the one shard that just took the write and reaches only the nodes subscribed
 * there, where classic PUBLISH would be broadcast over the cluster bus to every Redis node. Its
 * reply counts the subscriptions reached, which tells the poster whether any node has a live reader
 * (no reader anywhere: wake). The message is this node's random tag (to skip our own echo): no body,
 * no address, nothing the store does not already hold.
 *
 * Wake gate: `SET <prefix>{<mailbox b64url>}:w "" NX PX window` before a wake; only the node whose
 * SET succeeds sends it, so two nodes taking posts for one mailbox wake it once per window.
 *
 * Two connections of our own: a subscriber connection is in subscriber mode and can send nothing
 * else. Both connect in the background and reconnect by themselves; while Redis is away a publish
 * fails (the poster wakes), a subscribe fails (the notifier subscribes again when the bus is back),
 * and an unsubscribe that fails is sent again until it goes through (see `stale`).
 */
import { randomBytes } from 'node:crypto';
import type { MailboxBus } from '../core/cluster-notifier.js';
import type { WakeGate } from '../core/ports.js';
import { createRedisClient, type RedisClient, type RedisStoreOptions } from '../store/redis-connect.js';

/** How long a hint or a wake claim waits for the publisher's connection (off the post's path). */
const PUBLISH_QUEUE_MS = 2_000;
/** A SUNSUBSCRIBE that failed (Redis away) is tried again this often until one succeeds. */
const UNSUBSCRIBE_RETRY_MS = 1_000;
/**
 * Subscribes failing this long while the publisher's connection is up: the subscriber client is
 * replaced by a new one. ioredis 6.0.0's Cluster client can be left, after every master restarted,
 * with no sharded subscriber for a slot ("No sharded subscriber for slot") or stuck in `close`, and
 * does not recover by itself (seen in test/envelope/cluster-outage.test.ts); its mailboxes would
 * then never be live again, only read by the resync timer, and their posts would wake them.
 */
const SUBSCRIBER_STUCK_MS = 5_000;

export class RedisMailboxBus implements MailboxBus, WakeGate {
  private sub: RedisClient;
  private readonly pub: RedisClient;
  /** Since when subscribes fail (undefined: the last one went through), and the last replacement. */
  private failingSinceMs: number | undefined;
  private replacedAtMs = 0;
  private readonly tag = randomBytes(8);
  private readonly prefixLength: number;
  private handlers: Parameters<MailboxBus['listen']>[0] | undefined;
  private closed = false;
  /** Channels of mailboxes with a reader on this node (subscribed or being subscribed). */
  private readonly wanted = new Set<string>();
  /**
   * Channels whose SUNSUBSCRIBE failed while Redis was away. ioredis re-subscribes on reconnect
   * every channel it last saw confirmed, so such a channel comes back subscribed with no reader
   * behind it, and every post to that mailbox, on any node, would count it as a live reader and
   * never wake the mailbox. They are unsubscribed again (on reconnect and every second) until one
   * goes through. At most the channels ioredis itself still holds.
   */
  private readonly stale = new Set<string>();
  private staleRetry: NodeJS.Timeout | undefined;

  constructor(private readonly opts: RedisStoreOptions) {
    this.prefixLength = opts.keyPrefix.length + 1; // "<prefix>{"
    this.sub = this.createSubscriber();
    // The publisher waits up to PUBLISH_QUEUE_MS for its connection: after a Redis restart the
    // store's connection may be back before this one, and a post it stores then must not lose its hint.
    this.pub = createRedisClient(opts, { eager: true, queueMs: PUBLISH_QUEUE_MS });
    // Hints that failed while the publisher was away go out when it is back.
    this.pub.on('ready', () => this.handlers?.publisherBack());
  }

  private createSubscriber(): RedisClient {
    const sub = createRedisClient(this.opts, { eager: true, shardedSubscribers: true });
    sub.on('smessageBuffer', (channel: Buffer, message: Buffer) => this.onMessage(channel, message));
    // Every (re)connect: subscriptions tried while Redis was away are made again, and read. On a
    // Cluster each shard has its own subscriber connection ('+subscriber' when one comes up).
    const reconnected = (): void => {
      if (this.sub !== sub) return; // a replaced client
      this.unsubscribeStale(); // after ioredis's own re-subscriptions, on the same connection
      this.handlers?.reconnected();
    };
    sub.on('ready', reconnected);
    sub.on('+subscriber', reconnected);
    return sub;
  }

  /** Subscribes failing for SUBSCRIBER_STUCK_MS while Redis serves the publisher: a new subscriber client. */
  private noteSubscribeFailed(): void {
    const now = Date.now();
    this.failingSinceMs ??= now;
    if (this.closed || now - this.failingSinceMs < SUBSCRIBER_STUCK_MS || now - this.replacedAtMs < SUBSCRIBER_STUCK_MS) return;
    if (this.pub.status !== 'ready') return; // Redis itself is away: the client reconnects by itself
    this.replacedAtMs = now;
    this.failingSinceMs = undefined;
    const old = this.sub;
    this.sub = this.createSubscriber(); // its 'ready' makes the notifier subscribe every mailbox again
    this.stale.clear(); // the old connection's subscriptions go with it
    old.disconnect();
  }

  listen(handlers: Parameters<MailboxBus['listen']>[0]): void {
    this.handlers = handlers;
  }

  async subscribe(mailbox: Uint8Array): Promise<void> {
    const channel = this.channel(mailbox);
    this.wanted.add(channel);
    this.stale.delete(channel);
    try {
      await this.sub.ssubscribe(channel);
      this.failingSinceMs = undefined;
    } catch (err) {
      this.noteSubscribeFailed();
      throw err;
    }
  }

  unsubscribe(mailbox: Uint8Array): void {
    if (this.closed) return;
    const channel = this.channel(mailbox);
    this.wanted.delete(channel);
    this.sendUnsubscribe(channel);
  }

  async publish(mailbox: Uint8Array): Promise<number> {
    return Number(await this.pub.spublish(this.channel(mailbox), this.tag)); // subscriptions reached
  }

  /** True when this node may wake the mailbox now (no node did in the last `windowMs`). */
  async claim(mailbox: Uint8Array, windowMs: number): Promise<boolean> {
    const key = `${this.opts.keyPrefix}{${Buffer.from(mailbox).toString('base64url')}}:w`;
    return (await this.pub.set(key, '', 'PX', windowMs, 'NX')) === 'OK';
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.staleRetry);
    this.sub.disconnect();
    await this.pub.quit().catch(() => this.pub.disconnect());
  }

  private sendUnsubscribe(channel: string): void {
    this.sub.sunsubscribe(channel).catch(() => {
      if (this.closed || this.wanted.has(channel)) return; // a new reader wants it again
      this.stale.add(channel);
      this.staleRetry ??= setTimeout(() => {
        this.staleRetry = undefined;
        this.unsubscribeStale();
      }, UNSUBSCRIBE_RETRY_MS).unref();
    });
  }

  private unsubscribeStale(): void {
    const channels = [...this.stale];
    this.stale.clear();
    for (const channel of channels) this.sendUnsubscribe(channel);
  }

  private channel(mailbox: Uint8Array): string {
    return `${this.opts.keyPrefix}{${Buffer.from(mailbox).toString('base64url')}}:n`;
  }

  private onMessage(channel: Buffer, message: Buffer): void {
    if (message.equals(this.tag)) return; // our own publish: the local readers already heard it
    // "<prefix>{<43 chars b64url>}:n"
    const b64 = channel.subarray(this.prefixLength, channel.length - 3).toString('latin1');
    const mailbox = Buffer.from(b64, 'base64url');
    if (mailbox.length === 32) this.handlers?.message(mailbox);
  }
}
