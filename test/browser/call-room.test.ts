/**
 * Issue 11, must-show 2: two Chromium pages (WebSocket cells, the browser bundle) and two Node SDK
 * clients (UDP) in one `audio-room` room. Every one of the 12 directed pairs delivers; with
 * end-to-end padding on, the relay's per-session record counters cannot tell the silent browser
 * from the speaking one (a Node pair without padding, in another room, shows the counters would).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallClient } from '../../src/client/node.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { SKIP_BROWSER, bundleSdk, launchChromium, staticSite, type StaticSite, type TestBrowser } from './harness.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- page functions run in the browser, on window.sdk */
declare const window: any;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const PROFILE = 'audio-room';

/** Page side: join, log every frame as [sender slot, tag byte], expose a talk(n, tag) loop. */
async function joinInPage({ relayUrl, secret }: { relayUrl: string; secret: number[] }): Promise<{ slot: number; session: number; transport: string }> {
  const sdk = window.sdk;
  const call = await sdk.CallClient.join({ relay: relayUrl, callSecret: new Uint8Array(secret), profile: 'audio-room', e2ePadding: true });
  window.call = call;
  window.got = [];
  call.on('frame', (f: any) => window.got.push([f.slot, f.data[0]]));
  window.talk = (n: number, tag: number, everyMs: number) =>
    new Promise<void>((done) => {
      let i = 0;
      const t = setInterval(() => {
        call.send(new Uint8Array(60).fill(tag));
        if (++i >= n) {
          clearInterval(t);
          done();
        }
      }, everyMs);
    });
  return { slot: call.slot, session: call.session, transport: call.transportKind };
}

describe.skipIf(SKIP_BROWSER)('a call room of Chromium pages and Node clients', () => {
  let relay: TestRelay;
  let site: StaticSite;
  let browser: TestBrowser;

  beforeAll(async () => {
    site = await staticSite(await bundleSdk());
    relay = await startTestRelay({ corsOrigins: [site.origin], media: { enabled: true } }, { logLevel: 'silent' });
    browser = await launchChromium();
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await relay?.dispose();
    await site?.close();
  });

  it('all 12 directed pairs deliver; with e2e padding the silent browser looks like the speaking one', async () => {
    const secret = [...randomBytes(32)];
    const pages = [await browser.open(`${site.origin}/index.html`), await browser.open(`${site.origin}/index.html`)];
    const inPage = [];
    for (const p of pages) inPage.push(await p.evaluate(joinInPage, { relayUrl: relay.url, secret }));
    expect(inPage.map((j) => j.transport)).toEqual(['ws', 'ws']); // 'auto' in a browser: the WebSocket
    const nodes = [];
    for (let i = 0; i < 2; i++) nodes.push(await CallClient.join({ relay: relay.url, callSecret: Uint8Array.from(secret), profile: PROFILE, transport: 'udp', e2ePadding: true }));
    const nodeGot: Array<Array<[number, number]>> = nodes.map((c) => {
      const log: Array<[number, number]> = [];
      c.on('frame', (f) => log.push([f.slot, f.data[0]!]));
      return log;
    });
    for (let i = 0; i < 300 && nodes.some((c) => c.roster.length !== 4); i++) await sleep(10);
    for (const p of pages) await p.waitForFunction(() => window.call.roster.length === 4, undefined, { timeout: 10_000 });
    const slots = [...inPage.map((j) => j.slot), ...nodes.map((c) => c.slot)];
    expect(new Set(slots).size).toBe(4);

    // Everyone talks: 10 packets each, tagged by member (1..4).
    await Promise.all([
      ...pages.map((p, i) => p.evaluate(([tag]) => window.talk(10, tag, 20), [i + 1])),
      (async () => {
        for (let s = 0; s < 10; s++) {
          nodes[0]!.send(new Uint8Array(60).fill(3));
          nodes[1]!.send(new Uint8Array(60).fill(4));
          await sleep(20);
        }
      })(),
    ]);
    const logsNow = async (): Promise<Array<Array<[number, number]>>> => [...(await Promise.all(pages.map((p) => p.evaluate(() => window.got as Array<[number, number]>)))), ...nodeGot];
    let logs = await logsNow();
    for (let i = 0; i < 100 && logs.some((l) => l.length < 30); i++) {
      await sleep(50); // bounded wait for the tail (each member expects 3 x 10 packets)
      logs = await logsNow();
    }
    const pairs: string[] = [];
    for (let to = 0; to < 4; to++) {
      for (let from = 0; from < 4; from++) {
        if (from === to) continue;
        const n = logs[to]!.filter(([slot, tag]) => slot === slots[from] && tag === from + 1).length;
        pairs.push(`${from + 1}->${to + 1}:${n}`);
        expect(n, `member ${from + 1} to member ${to + 1}`).toBe(10);
      }
    }
    console.log(`directed pairs (packets of 10): ${pairs.join(' ')}`);

    // Padding: browser 1 speaks for 2 s, browser 2 is silent; the relay counts records per session.
    const idx = inPage.map((j) => j.session & 0xffff);
    const records = (): number[] => idx.map((i) => relay.media!.core.sessionStats(i)!.recordsIn);
    const missed = async (): Promise<number> => (await Promise.all(pages.map((p) => p.evaluate(() => window.call.stats.missedTicks as number)))).reduce((x, y) => x + y, 0);
    const missed0 = await missed();
    const before = records();
    await pages[0]!.evaluate(() => window.talk(100, 1, 20));
    const after = records();
    const missedInWindow = (await missed()) - missed0;
    const speaking = after[0]! - before[0]!;
    const silent = after[1]! - before[1]!;
    const dummies = (await pages[1]!.evaluate(() => window.call.stats.dummiesSent)) as number;
    console.log(`e2e padding on, 2 s: records the relay counted from the speaking browser ${speaking}, from the silent one ${silent} (the silent page sent ${dummies} dummies in all; ticks the pages missed meanwhile: ${missedInWindow})`);
    expect(speaking).toBeGreaterThan(40); // ~100 ticks of 20 ms, fewer only if the browser was starved
    // one record per tick from each; a tick a starved page skipped is the only allowed difference
    expect(Math.abs(speaking - silent)).toBeLessThanOrEqual(Math.max(4, speaking * 0.08) + missedInWindow);

    // Control: the same counters do tell a speaker from a silent member when padding is off.
    const ctl = [randomBytes(32)].flatMap((s) => [s, s]);
    const [talker, quiet] = [await CallClient.join({ relay: relay.url, callSecret: ctl[0]!, profile: PROFILE, transport: 'udp' }), await CallClient.join({ relay: relay.url, callSecret: ctl[1]!, profile: PROFILE, transport: 'udp' })];
    const ci = [talker, quiet].map((c) => c.session & 0xffff);
    const c0 = ci.map((i) => relay.media!.core.sessionStats(i)!.recordsIn);
    for (let s = 0; s < 25; s++) {
      talker.send(new Uint8Array(60).fill(9));
      await sleep(20);
    }
    await sleep(100);
    const c1 = ci.map((i) => relay.media!.core.sessionStats(i)!.recordsIn);
    console.log(`control, padding off: speaking ${c1[0]! - c0[0]!} records, silent ${c1[1]! - c0[1]!}`);
    expect(c1[0]! - c0[0]!).toBeGreaterThanOrEqual(20);
    expect(c1[1]! - c0[1]!).toBe(0);

    await Promise.all([...nodes, talker, quiet].map((c) => c.leave()));
    await Promise.all(pages.map((p) => p.evaluate(() => window.call.leave())));
    expect(browser.errors).toEqual([]);
  }, 90_000);
});
