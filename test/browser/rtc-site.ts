/** The static site of the RTC browser tests: the page helper bundled with the SDK, and the worker beside it. */
import { bundleSdk, staticSite, type StaticSite } from './harness.js';
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
