/**
 * Issue 12, the two halves together: Chromium pages join the real WebRTC edge with the SDK's
 * RtcCall (every encoded frame sealed as an SFrame record with keys from the call secret, audio
 * padded to one size inside the seal), and a werift member in this process sees the room exactly as
 * the relay forwards it. Checks: every browser opens and decodes every other browser's audio; the
 * forwarded audio payloads are one size whoever speaks, and none is an Opus frame in clear (an
 * SFrame header, never a TOC byte the relay could read); no browser's seal check trips. And a
 * video room of 3: every browser opens and decodes the others' sealed VP8, with a key frame on join.
 */
import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { EdgeClient, waitFor } from '../../loadtest/rtc/edge-client.js';
import { CallKeys, roomIdOf } from '../../src/client/call/e2e-keys.js';
import { openRecord, readRecordHeader } from '../../src/client/call/sframe.js';
import { SEALED_AUDIO_BYTES } from '../../src/client/rtc/frame-e2ee.js';
import { isRtcKid, keyOfKid } from '../../src/client/rtc/frame-keys.js';
import { encodeBase64url } from '../../src/wire/b64url.js';
import { SKIP_BROWSER } from './harness.js';
import { useRtcEdge } from './rtc-site.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- page functions run in the browser */
declare const window: any;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.skipIf(SKIP_BROWSER)('RtcCall (end-to-end sealed) through the real WebRTC edge', () => {
  const world = useRtcEdge();

  it('3 browsers and a werift observer in one audio room: each browser opens the others; the relay forwards one size of sealed frame', async () => {
    const secret = [...randomBytes(32)];
    const room = encodeBase64url(roomIdOf(Uint8Array.from(secret)));
    const observer = new EdgeClient(3);
    const pages: Page[] = [];
    try {
      expect((await observer.join(world.relay.url, room)).status).toBe(201);
      await observer.connected();
      for (let i = 0; i < 3; i++) {
        const page = await world.browser.open(`${world.site.origin}/index.html`);
        pages.push(page);
        expect(await page.evaluate((o) => window.rtcJoin(o), { relay: world.relay.url, secret, slots: 3 })).toEqual({ ok: true });
      }
      // Each browser hears the two others and the observer (which sends nothing: a slot the edge pads).
      for (const page of pages) {
        for (let t = 0; t < 150 && (await page.evaluate(() => window.callLog.filter((e: any) => e[0] === 'member').length)) < 2; t++) await sleep(100);
      }
      await sleep(4000);
      const reports = await Promise.all(
        pages.map((page) =>
          page.evaluate(async () => {
            const inbound: any[] = [];
            (await window.call.pc.getStats()).forEach((s: any) => {
              if (s.type === 'inbound-rtp' && s.kind === 'audio') inbound.push({ mid: s.mid, packets: s.packetsReceived, energy: s.totalAudioEnergy, concealed: s.concealedSamples, samples: s.totalSamplesReceived });
            });
            return { log: window.callLog, e2e: await window.call.e2eStats(), inbound, stats: window.call.stats };
          }),
        ),
      );
      for (const [i, r] of reports.entries()) {
        expect(r.e2e, `browser ${i} left the call: ${JSON.stringify(r.log)}`).toBeDefined();
        // (The observer's slot gets the edge's padding-only packets: counted as received, never decoded.)
        const heard = r.inbound.filter((s: any) => s.packets > 50 && s.samples > 0);
        const opened = Object.values(r.e2e.byReceiver as Record<string, { opened: number; rejected: number }>);
        console.log(
          `browser ${i}: sealed ${r.e2e.send.audio.sealed} (oversize ${r.e2e.send.audio.oversize}); opened per slot ${opened.map((o) => o.opened).join('/')} (refused ${opened.map((o) => o.rejected).join('/')}); ` +
            `audio slots ${heard.map((s: any) => `${s.packets} pkts, energy ${s.energy.toFixed(3)}, concealed ${s.concealed}/${s.samples}`).join('; ')}`,
        );
        expect(r.log.some((e: any) => e[0] === 'closed')).toBe(false); // no e2e_bypassed: every frame sent was sealed
        expect(r.stats.e2eBypassed).toBe(0);
        expect(r.e2e.send.audio.sealed).toBeGreaterThan(100);
        expect(heard.length).toBe(2); // the two other browsers
        for (const s of heard) expect(s.energy).toBeGreaterThan(0);
        expect(opened.filter((o) => o.opened > 50).length).toBe(2);
      }

      // What the relay forwards, as a member without the key sees it.
      const slots = [...observer.received.values()].filter((l) => l.length > 50);
      expect(slots.length).toBe(3); // one per browser
      const all = slots.flat();
      const sizes = new Set(all.map((p) => p.length));
      const headers = all.map((p) => readRecordHeader(p));
      const kids = new Set(headers.map((h) => h?.kid));
      // With the call secret (which the relay never has) every forwarded payload opens: the relay
      // passed the sealed frames through whole, and what they carry is the padded Opus frame.
      const keys = new CallKeys(Uint8Array.from(secret));
      const opened = all.filter((p, k) => headers[k] !== undefined && openRecord(keyOfKid(keys, headers[k]!.kid), p) !== undefined).length;
      console.log(`observer: ${slots.map((l) => l.length).join('/')} audio payloads from the 3 browsers, sizes ${[...sizes].join(',')} B (sealed size ${SEALED_AUDIO_BYTES}), ${kids.size} sender key ids; ${opened}/${all.length} open with the call secret`);
      expect([...sizes]).toEqual([SEALED_AUDIO_BYTES]); // one size, whoever speaks
      expect(headers.every((h) => h !== undefined && isRtcKid(h.kid))).toBe(true); // SFrame records, never Opus in clear
      expect(kids.size).toBe(3);
      expect(opened).toBe(all.length);
    } finally {
      for (const page of pages) await page.evaluate(() => window.call?.leave()).catch(() => undefined);
      observer.stopSending();
      await observer.pc.close();
    }
  }, 120_000);

  it('3 browsers in a video room: each opens and decodes the two others\' sealed VP8, a key frame on join (PLI through the edge)', async () => {
    const secret = [...randomBytes(32)];
    const pages: Page[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const page = await world.browser.open(`${world.site.origin}/index.html`);
        pages.push(page);
        expect(await page.evaluate((o) => window.rtcJoin(o), { relay: world.relay.url, secret, slots: 2, video: true })).toEqual({ ok: true });
      }
      for (const page of pages) {
        for (let t = 0; t < 150 && (await page.evaluate(() => window.callLog.filter((e: any) => e[0] === 'member').length)) < 2; t++) await sleep(100);
      }
      await sleep(5000);
      for (const [i, page] of pages.entries()) {
        const r = await page.evaluate(async () => {
          const video: any[] = [];
          (await window.call.pc.getStats()).forEach((s: any) => {
            if (s.type === 'inbound-rtp' && s.kind === 'video' && s.packetsReceived > 0) video.push({ frames: s.framesDecoded, keys: s.keyFramesDecoded, w: s.frameWidth, h: s.frameHeight });
          });
          return { log: window.callLog, e2e: await window.call.e2eStats(), video };
        });
        expect(r.e2e, `browser ${i} left the call: ${JSON.stringify(r.log)}`).toBeDefined();
        console.log(`video browser ${i}: sealed ${r.e2e.send.video.sealed} video frames, opened ${r.e2e.recv.video.opened} (refused ${r.e2e.recv.video.rejected}); slots ${r.video.map((v: any) => `${v.frames} frames (${v.keys} key) ${v.w}x${v.h}`).join('; ')}`);
        expect(r.log.some((e: any) => e[0] === 'closed')).toBe(false);
        expect(r.video.length).toBe(2);
        for (const v of r.video) {
          expect(v.frames).toBeGreaterThan(10);
          expect(v.keys).toBeGreaterThan(0);
        }
        expect(r.e2e.recv.video.opened).toBeGreaterThan(20);
        expect(r.e2e.recv.video.rejected).toBe(0);
      }
      expect(world.relay.metric('xrelay_rtc_forwarded_packets_total{kind="video"}')).toBeGreaterThan(0);
    } finally {
      for (const page of pages) await page.evaluate(() => window.call?.leave()).catch(() => undefined);
    }
  }, 120_000);
});
