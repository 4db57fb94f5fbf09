/**
 * Wakeups through a real webhook receiver on loopback: content-free (the body names only the token),
 * coalesced per mailbox per window, retried with backoff, never sent while a reader is connected,
 * and never delaying or failing the post.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MailboxReader, generateMailboxKeys, postEnvelope } from '../../src/client/index.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';

interface Hook {
  url: string;
  bodies: string[];
  server: Server;
}

/** A webhook that answers `statuses` in turn (then 200), or never answers when `hang` is set. */
async function startHook(statuses: number[] = [], hang = false): Promise<Hook> {
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += String(d)));
    req.on('end', () => {
      bodies.push(body);
      if (hang) return;
      res.writeHead(statuses.shift() ?? 200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/wake`, bodies, server };
}

let relay: TestRelay | undefined;
let hook: Hook | undefined;
afterEach(async () => {
  await relay?.dispose();
  hook?.server.closeAllConnections();
  hook?.server.close();
});

async function registered(r: TestRelay, token: string) {
  const keys = await generateMailboxKeys();
  const reader = new MailboxReader({ relayUrl: r.url, keys });
  await reader.connect();
  await reader.registerPush('webhook', token);
  return { keys, reader };
}

describe('wakes', () => {
  it('one content-free wake per window for a mailbox with no reader; none while a reader is connected', async () => {
    hook = await startHook();
    relay = await startTestRelay({ envelope: { webhookUrl: hook.url, wakeWindowSec: 60 } });
    const { keys, reader } = await registered(relay, 'device-token-123');
    await postEnvelope(relay.url, keys.mailboxId, new Uint8Array(256));
    await new Promise((r) => setTimeout(r, 150));
    expect(hook.bodies).toEqual([]); // the reader is live: it gets the envelope, no wake
    reader.close();
    await expect.poll(() => relay!.metric('xrelay_mailbox_readers')).toBe(0);

    for (let i = 0; i < 3; i++) await postEnvelope(relay.url, keys.mailboxId, new Uint8Array(1024));
    await expect.poll(() => hook!.bodies.length).toBe(1);
    await new Promise((r) => setTimeout(r, 150));
    expect(hook.bodies).toEqual([JSON.stringify({ token: 'device-token-123' })]);
    expect(relay.metric('xrelay_wakes_total{result="coalesced"}')).toBe(2);
    expect(relay.metric('xrelay_wakes_total{result="sent"}')).toBe(1);
  });

  it('push_targets_full past envelope.pushMaxTargets: the registration is refused, the reader keeps its socket and its envelopes; its own re-registration passes', async () => {
    hook = await startHook();
    relay = await startTestRelay({ envelope: { webhookUrl: hook.url, pushMaxTargets: 1 } });
    const first = await registered(relay, 'first-device');
    const keys = await generateMailboxKeys();
    const second = new MailboxReader({ relayUrl: relay.url, keys });
    await second.connect();
    const refused = await second.registerPush('webhook', 'second-device').then(() => 'ok', (err: { code: string }) => err.code);
    expect(refused).toBe('push_targets_full');
    await first.reader.registerPush('webhook', 'first-device-renewed'); // a re-registration is never refused
    const got = new Promise<string>((resolve) => second.once('envelope', (e) => resolve(e.id)));
    await postEnvelope(relay.url, keys.mailboxId, new Uint8Array(256));
    expect(await got).toMatch(/./); // the refused reader still reads
    first.reader.close();
    second.close();
  });

  it('retries a failing provider with backoff, then succeeds', async () => {
    hook = await startHook([500, 503]);
    relay = await startTestRelay({ envelope: { webhookUrl: hook.url, wakeRetries: 3, wakeRetryBaseMs: 20 } });
    const { keys, reader } = await registered(relay, 'tok');
    reader.close();
    await expect.poll(() => relay!.metric('xrelay_mailbox_readers')).toBe(0);
    await postEnvelope(relay.url, keys.mailboxId, new Uint8Array(256));
    await expect.poll(() => relay!.metric('xrelay_wakes_total{result="sent"}')).toBe(1);
    expect(hook.bodies.length).toBe(3);
    expect(relay.metric('xrelay_wakes_total{result="retried"}')).toBe(2);
  });

  it('gives up after the configured retries, counted as failed', async () => {
    hook = await startHook([500, 500, 500, 500]);
    relay = await startTestRelay({ envelope: { webhookUrl: hook.url, wakeRetries: 2, wakeRetryBaseMs: 10 } });
    const { keys, reader } = await registered(relay, 'tok');
    reader.close();
    await expect.poll(() => relay!.metric('xrelay_mailbox_readers')).toBe(0);
    await postEnvelope(relay.url, keys.mailboxId, new Uint8Array(256));
    await expect.poll(() => relay!.metric('xrelay_wakes_total{result="failed"}')).toBe(1);
    expect(hook.bodies.length).toBe(3);
  });

  it('past wakeMaxPending wakes in progress, a new wake is dropped and counted, not queued', async () => {
    hook = await startHook([], true); // every request hangs (until the 5 s timeout)
    relay = await startTestRelay({ envelope: { webhookUrl: hook.url, wakeMaxPending: 2 } });
    const boxes = [];
    for (let i = 0; i < 3; i++) {
      const { keys, reader } = await registered(relay, `tok-${i}`);
      reader.close();
      boxes.push(keys);
    }
    await expect.poll(() => relay!.metric('xrelay_mailbox_readers')).toBe(0);
    for (const keys of boxes.slice(0, 2)) await postEnvelope(relay.url, keys.mailboxId, new Uint8Array(256));
    await expect.poll(() => hook!.bodies.length).toBe(2); // both requests out, unanswered
    await postEnvelope(relay.url, boxes[2]!.mailboxId, new Uint8Array(256));
    await expect.poll(() => relay!.metric('xrelay_wakes_total{result="dropped"}')).toBe(1);
    expect(hook.bodies.length).toBe(2);
  });

  it('a provider that hangs never delays or fails the post', async () => {
    hook = await startHook([], true);
    relay = await startTestRelay({ envelope: { webhookUrl: hook.url } });
    const { keys, reader } = await registered(relay, 'tok');
    reader.close();
    await expect.poll(() => relay!.metric('xrelay_mailbox_readers')).toBe(0);
    const t0 = performance.now();
    const res = await postEnvelope(relay.url, keys.mailboxId, new Uint8Array(256));
    const elapsed = performance.now() - t0;
    expect(res.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    await expect.poll(() => hook!.bodies.length).toBe(1); // the wake is in flight, unanswered
    console.log(`post answered in ${elapsed.toFixed(1)} ms while the webhook hangs`);
    expect(elapsed).toBeLessThan(2000); // generous: the webhook never answers at all
  });
});
