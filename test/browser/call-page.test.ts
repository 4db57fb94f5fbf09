/**
 * Issue 11, must-show 3: the call page (`npm run demo:browser`) in two Chromium pages with fake
 * microphones. Opus frames are encoded, carried through the relay, decoded; the receiving page
 * measures non-zero audio energy. A screenshot goes to reports/browser/call-page.png.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error -- a plain ES module (the demo runs from dist with node), no type declarations
import { startCallDemo } from '../../demo/browser/serve.mjs';
import { SKIP_BROWSER, launchChromium, type TestBrowser } from './harness.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- page state lives on window.demo */
declare const window: any;

const SHOT = resolve(__dirname, '../../reports/browser/call-page.png');

describe.skipIf(SKIP_BROWSER)('the call page', () => {
  let demo: { pageUrl: string; relay: { metrics: { render(): string } }; close(): Promise<void> };
  let browser: TestBrowser;

  beforeAll(async () => {
    demo = await startCallDemo({ relayPort: 0, pagePort: 0, udpPort: 0, logLevel: 'silent' });
    browser = await launchChromium(['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', '--autoplay-policy=no-user-gesture-required']);
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await demo?.close();
  });

  it('two pages talk: Opus encoded, carried, decoded, and the receiver hears energy', async () => {
    const a = await browser.open(demo.pageUrl);
    await a.click('#join');
    await a.waitForFunction(() => window.demo.joined === true || window.demo.errors.length > 0, undefined, { timeout: 20_000 });
    expect(await a.evaluate(() => window.demo.errors)).toEqual([]);
    const link = a.url(); // now carries the #secret
    expect(link).toMatch(/#[A-Za-z0-9_-]{43}$/);
    const b = await browser.open(link);
    await b.click('#join');
    await b.waitForFunction(() => window.demo.joined === true || window.demo.errors.length > 0, undefined, { timeout: 20_000 });
    // The fake microphone beeps; wait until each page decoded a few seconds' worth with sound in it.
    for (const p of [a, b]) await p.waitForFunction(() => window.demo.decoded >= 100 && window.demo.rxLoudFrames >= 5, undefined, { timeout: 30_000 });
    const [sa, sb] = (await Promise.all([a, b].map((p) => p.evaluate(() => ({ ...window.demo }))))) as Array<Record<string, number>>;
    console.log(`page A: encoded ${sa!.encoded}, sent ${sa!.sent}, received ${sa!.received}, decoded ${sa!.decoded}, received energy ${sa!.rxEnergy!.toFixed(2)} (${sa!.rxLoudFrames} loud frames)`);
    console.log(`page B: encoded ${sb!.encoded}, sent ${sb!.sent}, received ${sb!.received}, decoded ${sb!.decoded}, received energy ${sb!.rxEnergy!.toFixed(2)} (${sb!.rxLoudFrames} loud frames)`);
    for (const s of [sa!, sb!]) {
      expect(s.encoded).toBeGreaterThan(0);
      expect(s.sent).toBeGreaterThan(0);
      expect(s.rxEnergy).toBeGreaterThan(0);
      expect(s.oversize).toBe(0);
    }
    expect(sa!.errors).toEqual([]);
    expect(sb!.errors).toEqual([]);
    await a.waitForTimeout(1200); // let the panel refresh its rates
    mkdirSync(resolve(SHOT, '..'), { recursive: true });
    await b.screenshot({ path: SHOT, fullPage: true });
    console.log(`screenshot: ${SHOT}`);
    await Promise.all([a, b].map((p) => p.click('#leave')));
    expect(browser.errors).toEqual([]);
  }, 90_000);
});
