/**
 * The cross-node notifier's decisions, with an in-memory bus whose subscribe and publish the test
 * resolves by hand: subscribe-then-read (no lost wakeup between a reader's first read and its
 * subscription), unsubscribe when the node's last reader of a mailbox leaves, re-subscribe and read
 * on reconnect, resync, and the wake decision from the publish's reach.
 */
import { describe, expect, it } from 'vitest';
import { ClusterMailboxNotifier, type MailboxBus } from '../../src/envelope/core/cluster-notifier.js';
import { LocalMailboxNotifier, type MailboxReader } from '../../src/envelope/core/mailbox-notifier.js';

class ManualBus implements MailboxBus {
  subscribes: Array<{ mailbox: Uint8Array; resolve(): void; reject(err: Error): void }> = [];
  unsubscribed = 0;
  reach = 0;
  /** While true, every publish fails (the publisher connection is away). */
  away = false;
  published: Uint8Array[] = [];
  handlers!: Parameters<MailboxBus['listen']>[0];
  subscribe(mailbox: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => this.subscribes.push({ mailbox, resolve, reject }));
  }
  unsubscribe(): void {
    this.unsubscribed++;
  }
  publish(mailbox: Uint8Array): Promise<number> {
    if (this.away) return Promise.reject(new Error('publisher away'));
    this.published.push(mailbox);
    return Promise.resolve(this.reach);
  }
  listen(h: Parameters<MailboxBus['listen']>[0]): void {
    this.handlers = h;
  }
}

function reader(): MailboxReader & { reads: number } {
  const r = { reads: 0, onEnvelopesAvailable: () => void r.reads++, onReplaced: () => {} };
  return r;
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));
const box = new Uint8Array(32).fill(1);

describe('ClusterMailboxNotifier', () => {
  it('reads again once the subscription is live, and once more on a message from another node', async () => {
    const bus = new ManualBus();
    const n = new ClusterMailboxNotifier(new LocalMailboxNotifier(4), bus);
    const r = reader();
    n.addReader(box, r);
    n.addReader(box, reader()); // one subscription per mailbox, however many readers
    expect(bus.subscribes).toHaveLength(1);
    expect(r.reads).toBe(0);
    bus.subscribes[0]!.resolve();
    await flush();
    expect(r.reads).toBe(1); // subscribe, then read
    bus.handlers.message(box);
    expect(r.reads).toBe(2);
  });

  it('unsubscribes when the last local reader leaves; a late subscription confirmation reads nothing', async () => {
    const bus = new ManualBus();
    const n = new ClusterMailboxNotifier(new LocalMailboxNotifier(4), bus);
    const r1 = reader();
    const r2 = reader();
    n.addReader(box, r1);
    n.addReader(box, r2);
    n.removeReader(box, r1);
    expect(bus.unsubscribed).toBe(0);
    n.removeReader(box, r2);
    expect(bus.unsubscribed).toBe(1);
    expect(n.subscriptions).toBe(0);
    bus.subscribes[0]!.resolve();
    await flush();
    expect(r2.reads).toBe(0);
  });

  it('retries a failed subscription on resync and on reconnect, then reads; resync reads the live ones', async () => {
    const bus = new ManualBus();
    const n = new ClusterMailboxNotifier(new LocalMailboxNotifier(4), bus);
    const r = reader();
    n.addReader(box, r);
    bus.subscribes[0]!.reject(new Error('redis away'));
    await flush();
    n.resync(); // not live: the failed subscription is tried again, nothing read yet
    expect(r.reads).toBe(0);
    expect(bus.subscribes).toHaveLength(2);
    n.resync(); // still pending: not piled up
    expect(bus.subscribes).toHaveLength(2);
    bus.subscribes[1]!.reject(new Error('still away'));
    await flush();
    bus.handlers.reconnected();
    expect(bus.subscribes).toHaveLength(3);
    bus.subscribes[2]!.resolve();
    await flush();
    expect(r.reads).toBe(1);
    n.resync();
    expect(r.reads).toBe(2);
  });

  it('answers true at once with a local reader; otherwise from the publish reach (false when Redis is away)', async () => {
    const bus = new ManualBus();
    const n = new ClusterMailboxNotifier(new LocalMailboxNotifier(4), bus);
    const other = new Uint8Array(32).fill(2);
    bus.reach = 0;
    expect(await n.notify(other)).toBe(false);
    bus.reach = 1;
    expect(await n.notify(other)).toBe(true);
    const r = reader();
    n.addReader(box, r);
    expect(n.notify(box)).toBe(true);
    expect(r.reads).toBe(1);
    bus.publish = () => Promise.reject(new Error('redis away'));
    expect(await n.notify(other)).toBe(false); // Redis away: the caller wakes
  });

  it('a hint that could not be published goes out when the publisher is back (and the caller wakes meanwhile)', async () => {
    const bus = new ManualBus();
    const hints: string[] = [];
    const n = new ClusterMailboxNotifier(new LocalMailboxNotifier(4), bus, (r) => hints.push(r));
    bus.away = true;
    const other = new Uint8Array(32).fill(2);
    expect(await n.notify(box)).toBe(false); // no reader anywhere known: the poster wakes
    expect(await n.notify(other)).toBe(false);
    await n.notify(box); // kept once per mailbox
    expect(bus.published).toHaveLength(0);
    bus.away = false;
    bus.handlers.publisherBack();
    await flush();
    expect(bus.published.map((m) => m[0]).sort()).toEqual([1, 2]);
    bus.handlers.publisherBack(); // nothing left to send
    n.resync();
    await flush();
    expect(bus.published).toHaveLength(2);
    expect(hints.filter((h) => h === 'failed')).toHaveLength(3);
    expect(hints.filter((h) => h === 'published')).toHaveLength(2);
  });

  it('a subscription that failed (Redis still loading) is tried again when the publisher is back, then read', async () => {
    const bus = new ManualBus();
    const n = new ClusterMailboxNotifier(new LocalMailboxNotifier(4), bus);
    const r = reader();
    n.addReader(box, r);
    bus.subscribes[0]!.reject(new Error('LOADING'));
    await flush();
    bus.handlers.publisherBack();
    expect(bus.subscribes).toHaveLength(2);
    bus.subscribes[1]!.resolve();
    await flush();
    expect(r.reads).toBe(1);
  });
});
