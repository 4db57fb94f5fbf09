/** The static site of the RTC browser tests: the page helper bundled with the SDK, and the worker beside it. */
import sodium from 'libsodium-wrappers';
import { afterAll, beforeAll } from 'vitest';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { bundleSdk, launchChromium, staticSite, type StaticSite, type TestBrowser } from './harness.js';
import type { RtcE2eReport } from '../../src/client/rtc/e2ee-engine.js';

/** Fake devices, loopback candidates allowed (the pages keep only 127.0.0.1 ones), audio plays without a gesture. */
export const RTC_FLAGS = [
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--allow-loopback-in-peer-connection',
  '--autoplay-policy=no-user-gesture-required',
  // Several pages run at once: none of them may be throttled as a background tab.
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
];

export async function rtcSite(): Promise<StaticSite> {
  const [page, worker] = await Promise.all([bundleSdk('test/browser/rtc-page.ts'), bundleSdk('src/client/rtc/e2ee-worker.ts')]);
  return staticSite(page, { '/e2ee-worker.js': ['text/javascript', worker] });
}

/* eslint-disable @typescript-eslint/no-explicit-any -- getStats dictionaries */
export interface PairStats {
  src: any[];
  out: any[];
  in: any[];
  e2eA: RtcE2eReport;
  e2eB: RtcE2eReport | undefined;
  state: string[];
}

/** What the browser tests through the real edge share: the RTC site, a relay with the edge on that allows it, one Chromium. */
export interface RtcEdgeWorld {
  relay: TestRelay;
  site: StaticSite;
  browser: TestBrowser;
}

/**
 * Starts that world before the describe block's tests and tears it down after (call it inside the
 * block). `file` adds relay config (e.g. `{ media: { enabled: true } }` for mixed rooms).
 */
export function useRtcEdge(file: Record<string, unknown> = {}): RtcEdgeWorld {
  const world = {} as RtcEdgeWorld;
  beforeAll(async () => {
    await sodium.ready;
    world.site = await rtcSite();
    world.relay = await startTestRelay({ corsOrigins: [world.site.origin], ...file, rtc: { enabled: true, ...((file.rtc as object) ?? {}) } }, { logLevel: 'silent' });
    world.browser = await launchChromium(RTC_FLAGS);
  }, 90_000);
  afterAll(async () => {
    await world.browser?.close();
    await world.relay?.dispose();
    await world.site?.close();
  });
  return world;
}

/** Chromium and the RTC site without a relay: the SDK's end-to-end layer between two peer connections in one page. */
export interface RtcPageWorld {
  site: StaticSite;
  browser: TestBrowser;
  /** A new page on the site's index (the SDK bundle and the page functions loaded). */
  openPage(): ReturnType<TestBrowser['open']>;
}

/** Starts that world before the describe block's tests and tears it down after (call it inside the block). */
export function useRtcPages(): RtcPageWorld {
  const world = { openPage: () => world.browser.open(`${world.site.origin}/index.html`) } as RtcPageWorld;
  beforeAll(async () => {
    world.site = await rtcSite();
    world.browser = await launchChromium(RTC_FLAGS);
  }, 90_000);
  afterAll(async () => {
    await world.browser?.close();
    await world.site?.close();
  });
  return world;
}
