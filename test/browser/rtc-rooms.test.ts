/**
 * Issue 12, must-show 1 (relay side): Chromium pages with plain RTCPeerConnections join the
 * WebRTC edge through its HTTP route; every browser decodes every other. One browser, one page per
 * member (bounded for CI on 2 cores): a 4-member audio room (audio packets received on each of 3
 * slots) and a 3-member video room (video frames decoded on each of 2 slots, and a key frame asked
 * by PLI on join).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { forbiddenExtensions } from '../../src/rtc/codec/header-extensions.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { SKIP_BROWSER, launchChromium, staticSite, type StaticSite, type TestBrowser } from './harness.js';
import { edgeStats, joinEdge, RTC_CHROMIUM_ARGS, RTC_PAGE, type SlotStats } from './rtc-edge-page.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until<T>(probe: () => Promise<T>, ok: (v: T) => boolean, ms: number): Promise<T> {
  const end = Date.now() + ms;
  let v = await probe();
  while (!ok(v) && Date.now() < end) {
    await sleep(250);
    v = await probe();
  }
  return v;
}

describe.skipIf(SKIP_BROWSER)('Chromium rooms through the WebRTC edge', () => {
  let relay: TestRelay;
  let site: StaticSite;
  let browser: TestBrowser;

  beforeAll(async () => {
    site = await staticSite('', { '/rtc.html': ['text/html', RTC_PAGE] });
    relay = await startTestRelay({ corsOrigins: [site.origin], rtc: { enabled: true } }, { logLevel: 'silent' });
    browser = await launchChromium(RTC_CHROMIUM_ARGS);
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await relay?.dispose();
    await site?.close();
  });

  async function room(members: number, profile: 'audio' | 'video'): Promise<Page[]> {
    const id = randomBytes(32).toString('base64url');
    const pages: Page[] = [];
    for (let i = 0; i < members; i++) {
      const page = await browser.open(`${site.origin}/rtc.html`);
      pages.push(page);
      const r = await page.evaluate(joinEdge, { relayUrl: relay.url, room: id, profile, slots: members - 1 });
      expect(r.status, r.answer).toBe(201);
      expect(forbiddenExtensions(r.answer)).toEqual([]);
      expect(r.answer).not.toContain('ssrc-audio-level');
    }
    return pages;
  }

  const slotsWith = (slots: SlotStats[], kind: string, ok: (s: SlotStats) => boolean): number => slots.filter((s) => s.kind === kind && ok(s)).length;

  it('4 browsers, audio: each receives audio packets from the 3 others', async () => {
    const pages = await room(4, 'audio');
    try {
      const started = Date.now();
      const stats = await Promise.all(pages.map((p) => until(() => p.evaluate(edgeStats), (s) => slotsWith(s.slots, 'audio', (x) => x.packetsReceived > 20 && x.samplesDecoded > 0) === 3 && s.rosters.at(-1)?.slots.length === 3, 30_000)));
      console.log(`audio room: all 4 hear 3 others after ${Date.now() - started} ms; packets per slot: ${stats.map((s) => s.slots.map((x) => x.packetsReceived).join('/')).join(' ')}; concealed/decoded samples: ${stats.map((s) => s.slots.map((x) => `${x.concealedSamples}/${x.samplesDecoded}`).join(',')).join(' ')}`);
      for (const s of stats) {
        expect(s.state).toBe('connected');
        expect(slotsWith(s.slots, 'audio', (x) => x.packetsReceived > 20 && x.samplesDecoded > 0)).toBe(3);
        // the roster names each slot's sender by an opaque tag: 3 distinct, none of them an address
        const last = s.rosters.at(-1);
        expect(last.type).toBe('slots');
        expect(new Set(last.slots.map((x: { member: string }) => x.member)).size).toBe(3);
        expect(last.slots.every((x: { member: string; kind: string }) => x.kind === 'audio' && /^[A-Za-z0-9_-]{11}$/.test(x.member))).toBe(true);
      }
      expect(browser.errors).toEqual([]);
    } finally {
      await Promise.all(pages.map((p) => p.close()));
    }
  }, 90_000);

  it('3 browsers, video: each decodes video from the 2 others, with a key frame asked by PLI on join', async () => {
    const pages = await room(3, 'video');
    try {
      const started = Date.now();
      const stats = await Promise.all(
        pages.map((p) => until(() => p.evaluate(edgeStats), (s) => slotsWith(s.slots, 'video', (x) => x.framesDecoded > 10) === 2 && slotsWith(s.slots, 'audio', (x) => x.packetsReceived > 20) === 2, 45_000)),
      );
      console.log(`video room: all 3 decode 2 others after ${Date.now() - started} ms; frames per slot: ${stats.map((s) => s.slots.filter((x) => x.kind === 'video').map((x) => x.framesDecoded).join('/')).join(' ')}; PLIs at senders: ${stats.map((s) => s.pliReceived).join('/')}`);
      for (const s of stats) {
        expect(slotsWith(s.slots, 'video', (x) => x.framesDecoded > 10 && x.keyFramesDecoded > 0)).toBe(2);
        expect(slotsWith(s.slots, 'audio', (x) => x.packetsReceived > 20)).toBe(2);
      }
      await sleep(8000); // the uplinks' estimates settle (REMB from the edge, loss-based in the browser)
      const later = await Promise.all(pages.map((p) => p.evaluate(edgeStats)));
      console.log(`video uplinks after 8 s more: available outgoing ${later.map((s) => Math.round(s.availableOutgoingBitrate / 1000)).join('/')} kbit/s, target ${later.map((s) => Math.round(s.videoTargetBitrate / 1000)).join('/')} kbit/s, sent ${later.map((s, i) => Math.round(((s.videoBytesSent - stats[i]!.videoBytesSent) * 8) / 8000)).join('/')} kbit/s`);
      // video keeps flowing on every slot (bandwidth estimation does not starve it): > 30 more frames in 8 s (15 fps sent)
      for (const [i, s] of later.entries()) {
        for (const slot of s.slots.filter((x) => x.kind === 'video')) {
          const before = stats[i]!.slots.find((x) => x.mid === slot.mid)!.framesDecoded;
          expect(slot.framesDecoded - before, `page ${i} slot ${slot.mid}`).toBeGreaterThan(30);
        }
      }
      // the first two members each got a PLI when a later member was given a slot of theirs
      expect(stats[0]!.pliReceived).toBeGreaterThan(0);
      expect(stats[1]!.pliReceived).toBeGreaterThan(0);
      expect(relay.metric('xrelay_rtc_keyframe_requests_total{result="new_slot"}')).toBeGreaterThan(0);
      expect(browser.errors).toEqual([]);
      // Chromium's ICE, DTLS and SRTP through the one UDP port (both rooms so far): nothing of it dropped there
      const d = relay.rtc!.metricsView.counters.drops;
      expect([d.stun_malformed, d.stun_unknown_ufrag, d.stun_bad_integrity, d.unknown_source, d.dtls_malformed, d.dtls_plaintext, d.dtls_bad_record, d.garbage, d.bad_tag]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0]);
      console.log(`one UDP port: ${relay.rtc!.udpTable.sessions} sessions, ${relay.rtc!.udpTable.tuples} latched 5-tuples`);
    } finally {
      await Promise.all(pages.map((p) => p.close()));
    }
  }, 120_000);
});
