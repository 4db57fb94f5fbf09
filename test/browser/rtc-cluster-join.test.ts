/**
 * Cluster mode from a browser on the WebRTC edge: a Chromium page's RtcCall posts its offer to the
 * node that does not hold the room. The 409 room_elsewhere carries the CORS header of the page's
 * (listed) origin, so the SDK reads the owner's URL and posts the offer there; it shares the room
 * with a werift member on the owner (each opens the other's sealed frames), and its leave() DELETEs
 * the session on the node that answered.
 */
import { randomBytes } from 'node:crypto';
import { RtpHeader, RtpPacket } from 'werift';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EdgeClient, waitFor } from '../../loadtest/rtc/edge-client.js';
import { CallKeys, FrameOpener, FrameSealer, randomRtcKid, ready, roomIdOf } from '../../src/client/node.js';
import { startRedis, type RedisProcess } from '../helpers/redis-server.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { SKIP_BROWSER, launchChromium, type StaticSite, type TestBrowser } from './harness.js';
import { RTC_FLAGS, rtcSite } from './rtc-site.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- page functions run in the browser */
declare const window: any;

describe.skipIf(SKIP_BROWSER)('RtcCall joins a room held by another node', () => {
  let redis: RedisProcess;
  let a: TestRelay;
  let b: TestRelay;
  let site: StaticSite;
  let browser: TestBrowser;

  beforeAll(async () => {
    await ready();
    site = await rtcSite();
    redis = await startRedis();
    const file = { store: 'redis', redis: { url: redis.url }, media: { enabled: true }, rtc: { enabled: true }, cluster: { leaseTtlMs: 3000, leaseRenewMs: 1000 }, corsOrigins: [site.origin] };
    a = await startTestRelay(file, { logLevel: 'silent' });
    b = await startTestRelay(file, { logLevel: 'silent' });
    browser = await launchChromium(RTC_FLAGS);
    await new Promise((r) => setTimeout(r, 1500)); // each node has seen the other
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await a?.dispose();
    await b?.dispose();
    await redis?.stop();
    await site?.close();
  });

  it('follows 409 room_elsewhere to the owner, shares the room with a werift member there, and leaves on that node', async () => {
    const secret = randomBytes(32);
    const keys = new CallKeys(secret);
    const room = Buffer.from(roomIdOf(secret)).toString('base64url');
    const member = new EdgeClient(3);
    let talk: NodeJS.Timeout | undefined;
    try {
      member.maxRedirects = 0;
      expect((await member.join(a.url, room)).status).toBe(201); // the room is A's
      await member.connected();
      const sealer = new FrameSealer(keys, randomRtcKid(), 'audio');
      let n = 0;
      talk = setInterval(() => {
        const rec = sealer.seal(new Uint8Array(60).fill(0x5a))!;
        member.track.writeRtp(new RtpPacket(new RtpHeader({ payloadType: 96, sequenceNumber: n & 0xffff, timestamp: (n * 960) >>> 0, ssrc: 9, marker: false }), Buffer.from(rec)));
        n++;
      }, 20);

      const page = await browser.open(`${site.origin}/index.html`);
      const joined = await page.evaluate((o) => window.rtcJoin(o), { relay: [b.url], secret: [...secret], slots: 3 });
      expect(joined).toEqual({ ok: true });
      expect(await page.evaluate(() => window.call.relay)).toBe(a.url);
      expect(b.metric('xrelay_rtc_joins_total{result="room_elsewhere"}')).toBe(1);
      expect([a.rtc!.sessionCount, b.rtc!.sessionCount]).toEqual([2, 0]);

      // both ways: the werift member opens the page's sealed audio, the page opens the member's frames
      const fromPage = (): number => {
        const opener = new FrameOpener('audio', () => keys); // a fresh replay window per count
        return [...member.received.values()].flat().filter((p) => opener.open(new Uint8Array(p)) !== undefined).length;
      };
      await waitFor(() => fromPage() > 50, 20_000, 'the werift member opens the page\'s frames');
      let pageOpened = 0;
      for (let t = 0; t < 100 && pageOpened <= 50; t++) {
        pageOpened = await page.evaluate(async () => (await window.call.e2eStats())?.recv.audio.opened ?? 0);
        if (pageOpened <= 50) await new Promise((r) => setTimeout(r, 100));
      }
      console.log(`page through B, served by A: the werift member opened ${fromPage()} of its frames, it opened ${pageOpened} of the member's`);
      expect(pageOpened).toBeGreaterThan(50);
      expect(await page.evaluate(() => window.callLog.filter((e: any) => e[0] === 'closed'))).toEqual([]);

      // leave(): the DELETE goes to A (the Location is relative to the node that answered)
      await page.evaluate(() => window.call.leave());
      await expect.poll(() => a.rtc!.sessionCount, { timeout: 5000 }).toBe(1);
      // Chromium logs the 409 it was answered (a resource "failed to load"); nothing else
      expect(browser.errors.filter((e) => !e.includes('status of 409'))).toEqual([]);
      expect(browser.errors.filter((e) => e.includes('status of 409'))).toHaveLength(1);
      await page.close();
    } finally {
      clearInterval(talk);
      await member.close();
    }
  }, 90_000);
});
