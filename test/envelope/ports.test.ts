/**
 * The mailbox core through its ports, with real parts: the store the factory opens (LMDB in a temp
 * dir), the local notifier, the wake dispatcher with an in-process provider. Time is injected.
 */
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/load.js';
import { LocalMailboxNotifier, type MailboxReader } from '../../src/envelope/core/mailbox-notifier.js';
import { MailboxService } from '../../src/envelope/core/mailbox-service.js';
import type { MailboxMetrics, WakeResult } from '../../src/envelope/core/ports.js';
import { WakeDispatcher } from '../../src/envelope/push/wake-dispatcher.js';
import type { PushProvider } from '../../src/envelope/push/push-providers.js';
import { openEnvelopeStore } from '../../src/envelope/store/open-envelope-store.js';
import { createLogger } from '../../src/observability/log.js';
import { randomBytes, tempDir } from '../helpers/relay.js';

class Reader implements MailboxReader {
  available = 0;
  replaced = false;
  onEnvelopesAvailable(): void {
    this.available++;
  }
  onReplaced(): void {
    this.replaced = true;
  }
}

describe('LocalMailboxNotifier', () => {
  it('notifies only the mailbox readers, replaces the oldest past the cap and counts every change', () => {
    let count = 0;
    const n = new LocalMailboxNotifier(2, (d) => (count += d));
    const box = randomBytes(32);
    const other = randomBytes(32);
    const [a, b, c] = [new Reader(), new Reader(), new Reader()];
    expect(n.notify(box)).toBe(false);
    n.addReader(box, a);
    n.addReader(box, b);
    n.addReader(box, c); // past the cap of 2: a is replaced
    expect([a.replaced, b.replaced, c.replaced]).toEqual([true, false, false]);
    expect(count).toBe(2);
    expect(n.notify(other)).toBe(false);
    expect(n.notify(box)).toBe(true);
    expect([a.available, b.available, c.available]).toEqual([0, 1, 1]);
    n.removeReader(box, a); // already gone: not counted twice
    n.removeReader(box, b);
    n.removeReader(box, c);
    expect(count).toBe(0);
    expect(n.notify(box)).toBe(false);
  });
});

describe('MailboxService over its ports', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('stores, notifies a live reader, wakes when none, deletes on ack, and counts through the metrics port', async () => {
    const config = { ...defaultConfig(), dataDir: tempDir() };
    dirs.push(config.dataDir);
    const counted: string[] = [];
    const metrics: MailboxMetrics = {
      stored: (writeSeconds) => counted.push(`stored:${writeSeconds}`),
      delivered: (n) => counted.push(`delivered:${n}`),
      expired: (n) => counted.push(`expired:${n}`),
      rejected: (code) => counted.push(`rejected:${code}`),
      readersChanged: (d) => counted.push(`readers:${d}`),
    };
    const woken: string[] = [];
    const provider: PushProvider = { name: 'test', wake: async (token) => void woken.push(token) };
    const wakeResults: WakeResult[] = [];
    let now = 1_000_000;
    const wakes = new WakeDispatcher([provider], { windowMs: 1000, retries: 0, retryBaseMs: 10 }, { wake: (r) => wakeResults.push(r) }, createLogger({ level: 'silent' }), () => now);
    const notifier = new LocalMailboxNotifier(config.envelope.maxReadersPerMailbox, metrics.readersChanged);
    let mono = 10;
    const service = new MailboxService({ config: config.envelope, metrics, wakes, notifier, now: () => now, monotonicMs: () => (mono += 2.5) });
    const { store } = await openEnvelopeStore(config);
    service.attachStore(store);
    try {
      const size = config.envelope.sizeBuckets[0]!;
      const box = randomBytes(32);
      await service.registerPush(box, 'test', 'device-token');
      await service.post(box, randomBytes(size)); // nobody reading: a wake
      await expect.poll(() => woken).toEqual(['device-token']);
      expect(wakeResults).toEqual(['sent']);

      const reader = new Reader();
      service.addReader(box, reader);
      now += 5000;
      const id = await service.post(box, randomBytes(size)); // a live reader: notified, no wake
      expect(reader.available).toBe(1);
      expect((await service.list(box, undefined, 10)).length).toBe(2);
      expect(await service.ack(box, [id])).toBe(1);
      await expect(service.post(box, randomBytes(size + 1))).rejects.toMatchObject({ code: 'size_not_allowed' });
      service.removeReader(box, reader);
      expect(woken).toEqual(['device-token']);
      expect(counted).toEqual(['stored:0.0025', 'readers:1', 'stored:0.0025', 'delivered:1', 'rejected:size_not_allowed', 'readers:-1']);
      const write = service.post(box, randomBytes(size));
      await service.drain(); // waits for the write in flight, then refuses
      expect((await write).length).toBe(16);
      await expect(service.post(box, randomBytes(size))).rejects.toMatchObject({ code: 'shutting_down' });
    } finally {
      wakes.close();
      await store.close();
    }
  });
});
