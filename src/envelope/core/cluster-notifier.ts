/**
 * The cross-node notifier (cluster mode, README "Running a cluster"): the local readers of this
 * relay, plus a mailbox channel between relay nodes, so a reader on node B hears of a post taken by
 * node A at once. Sans-IO apart from the `MailboxBus` port (Redis sharded pub/sub in
 * push/redis-mailbox-bus.ts); tests drive it with an in-memory bus.
 *
 * Why fire-and-forget pub/sub is enough: the store is the source of truth and a message is only a
 * hint to read it ("mailbox X may have mail"; the channel carries the mailbox id, which the store
 * already holds, never a body or an address). A hint can be lost (a node dies between its 202 and
 * its publish; the subscriber connection drops), so no delivery depends on one:
 * - subscribe, then read: when the mailbox's subscription is confirmed, its local readers read the
 *   store again, so a post made between a reader's first read and its subscription is not missed
 *   (the reader's cursor dedupes what it already has);
 * - when the bus comes back after a disconnect, every subscribed mailbox is re-subscribed and read;
 * - a hint this node could not publish (its publisher connection was away) is kept (bounded) and
 *   published when the publisher is back, or at the next resync: the poster's side of a reconnect;
 * - `resync()`, called on a timer by the plane, reads every subscribed mailbox (and retries failed
 *   subscriptions and unsent hints): the bound on a hint lost without any disconnect being seen (a
 *   node killed between its write and its publish, a Cluster shard's subscriber connection that came back).
 * Keyspace notifications were the other candidate: they fire for every write of every key (bodies,
 * usage hashes) and are off by default on managed Redis; streams would add a durable log per
 * mailbox beside the one the store keeps. Pub/sub adds nothing to what Redis holds.
 */
import { LocalMailboxNotifier, mailboxKey, type MailboxNotifier, type MailboxReader } from './mailbox-notifier.js';
import type { HintResult } from './ports.js';

/** "Mailbox X may have mail", between relay nodes. */
export interface MailboxBus {
  /** Resolves once this node receives the mailbox's messages. */
  subscribe(mailbox: Uint8Array): Promise<void>;
  unsubscribe(mailbox: Uint8Array): void;
  /** Tells the other nodes; resolves with how many subscriptions (this node's included) it reached. */
  publish(mailbox: Uint8Array): Promise<number>;
  /**
   * `message`: another node published for a mailbox; `reconnected`: the subscriber connection came
   * back (messages may have been lost); `publisherBack`: publishes can go out again.
   */
  listen(handlers: { message(mailbox: Uint8Array): void; reconnected(): void; publisherBack(): void }): void;
}

/** Hints kept for publishing later, at most: past it the resync timer is the bound. */
const MAX_UNSENT = 10_000;

interface Subscription {
  readonly mailbox: Uint8Array;
  state: 'pending' | 'live' | 'failed';
}

export class ClusterMailboxNotifier implements MailboxNotifier {
  /** Mailboxes with a reader on this node, subscribed (live) or being subscribed. */
  private readonly subs = new Map<string, Subscription>();
  /** Mailboxes whose hint could not be published (Redis away), to publish when it is back. */
  private readonly unsent = new Map<string, Uint8Array>();

  constructor(
    private readonly local: LocalMailboxNotifier,
    private readonly bus: MailboxBus,
    private readonly countHint: (result: HintResult) => void = () => {},
  ) {
    bus.listen({
      message: (mailbox) => {
        this.countHint('received');
        this.local.notify(mailbox);
      },
      reconnected: () => {
        for (const sub of this.subs.values()) this.subscribe(sub);
      },
      publisherBack: () => {
        // Redis serves again (a subscription tried while it was still loading its AOF failed): retry those too.
        for (const sub of this.subs.values()) if (sub.state === 'failed') this.subscribe(sub);
        this.publishUnsent();
      },
    });
  }

  /**
   * The reader cap (`envelope.maxReadersPerMailbox`) is per node: the local notifier enforces it
   * among this node's readers; a key holder with readers on two nodes may hold the cap on each.
   */
  addReader(mailbox: Uint8Array, reader: MailboxReader): void {
    this.local.addReader(mailbox, reader);
    const key = mailboxKey(mailbox);
    if (this.subs.has(key)) return;
    const sub: Subscription = { mailbox: Uint8Array.from(mailbox), state: 'pending' };
    this.subs.set(key, sub);
    this.subscribe(sub);
  }

  removeReader(mailbox: Uint8Array, reader: MailboxReader): void {
    this.local.removeReader(mailbox, reader);
    if (this.local.has(mailbox)) return;
    const key = mailboxKey(mailbox);
    if (!this.subs.delete(key)) return;
    this.bus.unsubscribe(mailbox);
  }

  /**
   * Local readers first (synchronous); then the other nodes. With a local reader the answer is true
   * at once and the publish goes out behind it (other devices of the key may read elsewhere);
   * without, the answer waits for the publish: reached no other node's reader (or Redis is away)
   * means the caller wakes the mailbox.
   */
  notify(mailbox: Uint8Array): boolean | Promise<boolean> {
    if (this.local.notify(mailbox)) {
      this.bus.publish(mailbox).then(
        () => this.countHint('published'),
        () => this.keepUnsent(mailbox),
      );
      return true;
    }
    // No local reader, so no subscription of ours is wanted; one whose SUNSUBSCRIBE is still on the
    // wire may count once (that post then goes without a wake; the next post past the window wakes).
    return this.bus.publish(mailbox).then(
      (reached) => {
        this.countHint('published');
        return reached > 0;
      },
      () => {
        this.keepUnsent(mailbox);
        return false;
      },
    );
  }

  /**
   * Reads every subscribed mailbox again, the bound on a lost hint, and retries subscriptions that
   * failed (Redis was away and no reconnect was seen since). The plane calls it on a timer.
   */
  resync(): void {
    for (const sub of this.subs.values()) {
      if (sub.state === 'live') this.local.notify(sub.mailbox);
      else if (sub.state === 'failed') this.subscribe(sub);
    }
    this.publishUnsent();
  }

  /** Mailboxes subscribed on this node (a gauge). */
  get subscriptions(): number {
    return this.subs.size;
  }

  private keepUnsent(mailbox: Uint8Array): void {
    this.countHint('failed');
    if (this.unsent.size < MAX_UNSENT) this.unsent.set(mailboxKey(mailbox), Uint8Array.from(mailbox));
  }

  /** Publishes the hints that failed (each once; one that fails again is kept again). */
  private publishUnsent(): void {
    const pending = [...this.unsent.values()];
    this.unsent.clear();
    for (const mailbox of pending) {
      this.bus.publish(mailbox).then(
        () => this.countHint('published'),
        () => this.keepUnsent(mailbox),
      );
    }
  }

  private subscribe(sub: Subscription): void {
    sub.state = 'pending';
    this.bus.subscribe(sub.mailbox).then(
      () => {
        if (this.subs.get(mailboxKey(sub.mailbox)) !== sub) return; // the last reader left meanwhile
        sub.state = 'live';
        this.local.notify(sub.mailbox); // subscribe, then read: nothing posted before now is missed
      },
      () => {
        sub.state = 'failed'; // Redis away: `reconnected` or the next resync subscribes it again
      },
    );
  }
}
