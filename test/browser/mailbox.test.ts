/**
 * Issue 11, must-show 1, in headless Chromium: from an origin the relay allows, mailbox keys, a
 * sealed envelope posted (fetch and the post WebSocket), read and acknowledged by a MailboxReader in
 * another page. From an origin it does not allow: no CORS headers, WebSocket upgrades refused 403,
 * nothing stored.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { SKIP_BROWSER, bundleSdk, launchChromium, staticSite, type StaticSite, type TestBrowser } from './harness.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- page functions run in the browser, on window.sdk */
declare const window: any;

function preflight(url: string, origin: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } }, (res) => {
      res.resume();
      resolve({ status: res.statusCode, ...res.headers });
    });
    req.on('error', reject);
    req.end();
  });
}

describe.skipIf(SKIP_BROWSER)('mailboxes from Chromium', () => {
  let relay: TestRelay;
  let allowed: StaticSite;
  let foreign: StaticSite;
  let browser: TestBrowser;

  beforeAll(async () => {
    const sdk = await bundleSdk();
    allowed = await staticSite(sdk);
    foreign = await staticSite(sdk);
    relay = await startTestRelay({ corsOrigins: [allowed.origin] }, { logLevel: 'silent' });
    browser = await launchChromium();
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await relay?.dispose();
    await allowed?.close();
    await foreign?.close();
  });

  it('allowed origin: keys, seal, post (HTTP and WebSocket), read and ack in another page', async () => {
    const reader = await browser.open(`${allowed.origin}/index.html`);
    const sender = await browser.open(`${allowed.origin}/index.html`);
    const box = await reader.evaluate(async (relayUrl: string) => {
      const sdk = window.sdk;
      const keys = await sdk.generateMailboxKeys();
      window.got = [];
      const r = new sdk.MailboxReader({ relayUrl, keys });
      r.on('envelope', (e: any) => {
        const m = sdk.openEnvelope(keys, e.body);
        window.got.push({ id: e.id, kind: m.kind, text: new TextDecoder().decode(m.body), size: e.body.length });
        r.ack([e.id]);
      });
      await r.connect();
      window.reader = r;
      return { publicKey: sdk.encodeB64url(keys.publicKey), mailboxId: sdk.encodeB64url(keys.mailboxId) };
    }, relay.url);
    const posted = await sender.evaluate(
      async ({ relayUrl, box }: { relayUrl: string; box: { publicKey: string; mailboxId: string } }) => {
        const sdk = window.sdk;
        await sdk.ready();
        const pk = sdk.decodeB64url(box.publicKey, 32);
        const mailbox = sdk.decodeB64url(box.mailboxId, 32);
        const a = await sdk.postEnvelope(relayUrl, mailbox, sdk.sealEnvelope(pk, { kind: 'chat', body: new TextEncoder().encode('hello over fetch') }));
        const sock = await sdk.PostSocket.open(relayUrl);
        const b = await sock.post(mailbox, sdk.sealEnvelope(pk, { kind: 'call-offer', body: new TextEncoder().encode('hello over the post socket') }));
        sock.close();
        return [a.id, b];
      },
      { relayUrl: relay.url, box },
    );
    await reader.waitForFunction(() => window.got.length >= 2, undefined, { timeout: 20_000 });
    const got = (await reader.evaluate(() => window.got)) as Array<{ id: string; kind: string; text: string; size: number }>;
    expect(got.map((g) => g.id)).toEqual(posted);
    expect(got.map((g) => [g.kind, g.text])).toEqual([
      ['chat', 'hello over fetch'],
      ['call-offer', 'hello over the post socket'],
    ]);
    expect(got.map((g) => g.size)).toEqual([256, 256]); // padded to the smallest bucket
    // acknowledged from the browser: the relay deletes both
    for (let i = 0; i < 200 && relay.metric('xrelay_store_envelopes') !== 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(relay.metric('xrelay_store_envelopes')).toBe(0);
    await reader.evaluate(() => window.reader.close());
    expect(browser.errors).toEqual([]);
  }, 60_000);

  it('foreign origin: no CORS headers, WebSocket upgrades 403, posts never arrive', async () => {
    const pre = await preflight(`${relay.url}/v1/mailboxes/${'A'.repeat(43)}/envelopes`, foreign.origin);
    expect(pre.status).toBe(204);
    expect(Object.keys(pre).filter((h) => h.startsWith('access-control-'))).toEqual([]);
    // A refused upgrade is counted under its route with status 403.
    const refusedUpgrades = (): number => ['/v1/post', '/v1/mailbox'].reduce((n, route) => n + relay.metric(`xrelay_http_requests_total{method="GET",route="${route}",status="403"}`), 0);
    const refused0 = refusedUpgrades();
    const stored0 = relay.metric('xrelay_envelopes_stored_total');
    const page = await browser.open(`${foreign.origin}/index.html`);
    const codes = await page.evaluate(async (relayUrl: string) => {
      const sdk = window.sdk;
      const keys = await sdk.generateMailboxKeys();
      const sealed = sdk.sealEnvelope(keys.publicKey, { kind: 'chat', body: new Uint8Array(3) });
      const post = await sdk.postEnvelope(relayUrl, keys.mailboxId, sealed).then(() => 'ok', (e: any) => e.code);
      const socket = await sdk.PostSocket.open(relayUrl).then(() => 'open', (e: any) => e.code);
      const r = new sdk.MailboxReader({ relayUrl, keys, reconnectMinMs: 60_000 });
      const problem = new Promise((res) => r.once('problem', (p: any) => res(p.code)));
      r.connect().catch(() => undefined);
      const reader = await problem;
      r.close();
      return { post, socket, reader };
    }, relay.url);
    expect(codes).toEqual({ post: 'network', socket: 'network', reader: 'network' }); // what a browser lets a page know
    expect(refusedUpgrades() - refused0).toBe(2); // both upgrades: 403
    expect(relay.metric('xrelay_envelopes_stored_total')).toBe(stored0); // the preflight failed: no POST was sent
  }, 60_000);
});
