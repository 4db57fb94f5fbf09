/**
 * Cluster mode from a browser: a Chromium page (the browser bundle, WebSocket cells) joins a room
 * through the node that does not hold it. The 409 room_elsewhere answer carries the CORS header of
 * the page's (listed) origin, so the SDK reads the holder's URL and joins there with the page's own
 * Origin: the page and a Node client on the holding node hear each other. (A 307 instead would be
 * followed by the browser itself with `Origin: null` after a cross-origin redirect of a preflighted
 * POST, which no corsOrigins list admits.)
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallClient } from '../../src/client/node.js';
import { startRedis, type RedisProcess } from '../helpers/redis-server.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { SKIP_BROWSER, bundleSdk, launchChromium, staticSite, type StaticSite, type TestBrowser } from './harness.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- page functions run in the browser, on window.sdk */
declare const window: any;

async function joinInPage({ relays, secret }: { relays: string[]; secret: number[] }): Promise<{ relay: string; transport: string }> {
  const call = await window.sdk.CallClient.join({ relay: relays, callSecret: new Uint8Array(secret), profile: 'audio-room' });
  window.call = call;
  window.got = [];
  call.on('frame', (f: any) => window.got.push(f.data[0]));
  return { relay: call.relay, transport: call.transportKind };
}

describe.skipIf(SKIP_BROWSER)('a browser joins a room held by another node', () => {
  let redis: RedisProcess;
  let a: TestRelay;
  let b: TestRelay;
  let site: StaticSite;
  let browser: TestBrowser;

  beforeAll(async () => {
    site = await staticSite(await bundleSdk());
    redis = await startRedis();
    const file = { store: 'redis', redis: { url: redis.url }, media: { enabled: true }, cluster: { leaseTtlMs: 3000, leaseRenewMs: 1000 }, corsOrigins: [site.origin] };
    a = await startTestRelay(file, { logLevel: 'silent' });
    b = await startTestRelay(file, { logLevel: 'silent' });
    browser = await launchChromium();
    await new Promise((r) => setTimeout(r, 1500)); // each node has seen the other
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await a?.dispose();
    await b?.dispose();
    await redis?.stop();
    await site?.close();
  });

  it('follows 409 room_elsewhere across origins and shares the call with a Node client', async () => {
    const secret = [...randomBytes(32)];
    const node = await CallClient.join({ relay: a.url, callSecret: Uint8Array.from(secret), profile: 'audio-room' });
    expect(node.relay).toBe(a.url);
    const got: number[] = [];
    node.on('frame', (f) => got.push(f.data[0]!));
    const page = await browser.open(`${site.origin}/index.html`);
    const joined = await page.evaluate(joinInPage, { relays: [b.url], secret });
    expect(joined).toEqual({ relay: a.url, transport: 'ws' });
    expect(b.metric('xrelay_cluster_joins_total{result="redirected"}')).toBe(1);
    await page.waitForFunction(() => window.call.roster.length === 2, undefined, { timeout: 10_000 });
    for (let i = 0; i < 10; i++) {
      node.send(new Uint8Array(60).fill(7));
      await page.evaluate(() => window.call.send(new Uint8Array(60).fill(8)));
      await new Promise((r) => setTimeout(r, 40));
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(got.filter((t) => t === 8).length).toBe(10);
    expect(await page.evaluate(() => window.got.filter((t: number) => t === 7).length)).toBe(10);
    await page.evaluate(() => window.call.close());
    await node.close();
  }, 60_000);
});
