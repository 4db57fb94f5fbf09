/**
 * Issue 12, must-show 3, through the real edge: a speaking and a silent Chromium page (RtcCall: Opus
 * CBR, DTX off, every frame sealed and padded to 114 bytes; the silent one with its microphone track
 * disabled), a third page that leaves halfway, and a werift observer member, in one audio room with
 * downlink padding on. Each page's traffic goes through a UDP proxy next to the relay (the answer's
 * candidate port rewritten in the page's fetch), which records what a network observer there sees.
 *
 * Checks: one RTP packet size per direction for both pages and the same rate (spread printed); the
 * downlink keeps 3 SSRCs at 50 packets/s each before and after the third page leaves (its slot is
 * padded); every downlink audio packet has the P bit (so padding is not told apart in clear); RTP
 * header extensions on the wire are only the negotiated allowed ones and no negotiated SDP has a
 * forbidden one; Chromium discards the padding-only packets (nothing reaches the E2E layer, no loss,
 * low concealment on the real slot); the leak meter's classifier cannot tell the speaking page from
 * the silent one, on the network view and on the relay-side view (after SRTP).
 */
import { randomBytes } from 'node:crypto';
import type { Page, Route } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { EdgeClient, waitFor } from '../../loadtest/rtc/edge-client.js';
import { roomIdOf } from '../../src/client/call/e2e-keys.js';
import { SEALED_AUDIO_BYTES } from '../../src/client/rtc/frame-e2ee.js';
import { scoreLeak, type LeakScore } from '../../src/load/leak/classifier.js';
import { appendSet, emptySet, OBSERVER_FEATURES, TIMING_FEATURES, timingWindows, traceWindows, type WindowSet } from '../../src/load/leak/features.js';
import { nowEpochMs } from '../../src/load/leak/tap.js';
import { forbiddenExtensions } from '../../src/rtc/codec/header-extensions.js';
import { encodeBase64url } from '../../src/wire/b64url.js';
import { SKIP_BROWSER } from './harness.js';
import { useRtcEdge } from './rtc-site.js';
import { candidatePort, WireTap, type WirePacket } from './rtc-wire-tap.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- page functions run in the browser */
declare const window: any;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** The meter's windows: 50 ms (2-3 uplink, 7-8 downlink packets each) for the asserted score, 100 ms (its default) printed too. */
const WINDOW_MS = 50;
const BLOCKS = 24;
const BLOCK_MS = 800;
const NAMES = ['speaking', 'silent', 'leaver'] as const;
type Name = (typeof NAMES)[number];

interface SlotArrival {
  t: number;
  payload: number;
  marker: boolean;
  ts: number;
}

const fmt = (x: number, d = 1): string => x.toFixed(d);
const pct = (s: LeakScore): string => `${fmt(s.balancedAccuracy * 100)}% ± ${fmt(s.ci95 * 100)} (95% CI; ${s.classifier.slice(0, 60)}; train ${fmt(s.trainBalancedAccuracy * 100)}%, windows ${s.windows.train}/${s.windows.test})`;

/** RTP packets of one direction in [from, to). */
const rtpOf = (tap: WireTap, up: boolean, from: number, to: number): WirePacket[] => tap.packets.filter((p) => p.kind === 'rtp' && p.up === up && p.t >= from && p.t < to);

/** Relay-side features per window: packets, payload bytes, markers, RTP timestamp advance, gap mean, gap sd. */
const RELAY_FEATURES = ['packets', 'payload bytes', 'markers', 'ts advance', 'gap mean', 'gap sd'] as const;
function relayWindows(list: SlotArrival[], from: number, n: number, windowMs: number): number[][] {
  const rows = Array.from({ length: n }, () => [0, 0, 0, 0, 0, 0]);
  const gaps: number[][] = Array.from({ length: n }, () => []);
  for (let i = 0; i < list.length; i++) {
    const a = list[i]!;
    const w = Math.floor((a.t - from) / windowMs);
    if (w < 0 || w >= n) continue;
    const r = rows[w]!;
    r[0]!++;
    r[1]! += a.payload;
    if (a.marker) r[2]!++;
    if (i > 0) {
      r[3]! += (a.ts - list[i - 1]!.ts) >>> 0;
      gaps[w]!.push(a.t - list[i - 1]!.t);
    }
  }
  rows.forEach((r, w) => {
    const g = gaps[w]!;
    const mean = g.reduce((x, y) => x + y, 0) / Math.max(1, g.length);
    r[4] = mean;
    r[5] = Math.sqrt(g.reduce((x, y) => x + (y - mean) ** 2, 0) / Math.max(1, g.length));
  });
  return rows;
}

describe.skipIf(SKIP_BROWSER)('Uniform audio through the WebRTC edge: speaking vs silent Chromium, downlink padding', () => {
  const world = useRtcEdge();

  it('one size per direction, one rate, a left member\'s slot padded, Chromium discards padding, the leak meter at chance', async () => {
    const secret = [...randomBytes(32)];
    const room = encodeBase64url(roomIdOf(Uint8Array.from(secret)));
    const observer = new EdgeClient(3);
    const taps = new Map<Name, WireTap>();
    const pages = new Map<Name, Page>();
    // What the relay received from each page, after SRTP: the observer's slot carrying that page
    // (the relay passes payload, marker and timestamp steps on unchanged).
    const bySlot = new Map<string, SlotArrival[]>();
    observer.onSlotRtp = (mid, rtp) => {
      if (rtp.payload.length === 0) return; // the relay's own padding to the observer
      let l = bySlot.get(mid);
      if (l === undefined) bySlot.set(mid, (l = []));
      l.push({ t: nowEpochMs(), payload: rtp.payload.length, marker: rtp.header.marker, ts: rtp.header.timestamp });
    };
    const slotOf = new Map<Name, string>();
    try {
      expect((await observer.join(world.relay.url, room)).status).toBe(201);
      expect(forbiddenExtensions(observer.answer)).toEqual([]);
      await observer.connected();
      for (const name of NAMES) {
        const page = await world.browser.open(`${world.site.origin}/index.html`);
        pages.set(name, page);
        await page.route(`${world.relay.url}/v1/rtc/rooms/**`, async (route: Route) => {
          if (route.request().method() !== 'POST') return route.continue();
          const res = await route.fetch();
          let body = await res.text();
          const port = candidatePort(body);
          if (res.status() === 201 && port !== undefined) {
            const tap = new WireTap(port);
            taps.set(name, tap);
            body = body.replace(` ${port} typ host`, ` ${await tap.start()} typ host`);
          }
          await route.fulfill({ response: res, body });
        });
        const before = new Set(observer.rosters.at(-1)?.slots.map((s) => s.mid) ?? []);
        expect(await page.evaluate((o) => window.rtcJoin(o), { relay: world.relay.url, secret, slots: 3 })).toEqual({ ok: true });
        await waitFor(() => (observer.rosters.at(-1)?.slots.length ?? 0) === before.size + 1, 10_000, `observer roster with ${name}`);
        slotOf.set(name, observer.rosters.at(-1)!.slots.find((s) => !before.has(s.mid))!.mid);
      }
      expect(taps.size).toBe(3);
      // Muting: the microphone track disabled (what a muted browser encodes); RtcCall keeps sending CBR frames.
      const speak = async (who: 'speaking' | 'silent'): Promise<void> => {
        for (const n of ['speaking', 'silent'] as const) await pages.get(n)!.evaluate((on) => window.call.pc.getSenders().forEach((s: any) => s.track?.kind === 'audio' && (s.track.enabled = on)), n === who);
      };
      await speak('speaking');
      for (const page of pages.values()) await waitFor2(page, 2);
      await sleep(2000); // warm-up: Chromium sends the mid extension until the relay's reports acknowledge it
      // Blocks with the speaker swapped in each, so that in both halves of the call (the meter trains
      // on one, scores the other) each page is heard speaking and silent, often: what tells one page
      // from the other for good or drifts slowly (the phase of its downlink streams against each
      // other and the relay's timers, its slot layout) cannot pass for speech. With a few long
      // blocks such drifts made the score wander (43-54% over runs, as low as high: structure, not
      // speech); 24 short ones decorrelate them. The third page leaves between the halves.
      const blocks: { from: number; to: number; speaker: 'speaking' | 'silent' }[] = [];
      const block = async (speaker: 'speaking' | 'silent'): Promise<void> => {
        await speak(speaker);
        await sleep(100); // the encoder takes the change at its next 20 ms frame
        const from = nowEpochMs();
        await sleep(BLOCK_MS);
        blocks.push({ from, to: nowEpochMs(), speaker });
      };
      const e2e0 = await e2eOf(pages.get('speaking')!, pages.get('silent')!);
      for (let k = 0; k < BLOCKS / 2; k++) await block(k % 2 === 0 ? 'speaking' : 'silent');
      await pages.get('leaver')!.evaluate(() => window.call.leave());
      await waitFor(() => world.relay.rtc!.sessionCount === 3, 10_000, 'the relay closed the leaver\'s session');
      for (let k = 0; k < BLOCKS / 2; k++) await block(k % 2 === 0 ? 'speaking' : 'silent');
      const [t1, t2, t3, t4] = [blocks[0]!.from, blocks[BLOCKS / 2 - 1]!.to, blocks[BLOCKS / 2]!.from, blocks[BLOCKS - 1]!.to];
      const e2e1 = await e2eOf(pages.get('speaking')!, pages.get('silent')!);
      const stats = await Promise.all(['speaking', 'silent'].map((n) => pages.get(n as Name)!.evaluate(pageStats)));

      // ---- one size per direction, one rate ----
      const phases = [
        ['3 pages', t1, t2],
        ['after a leave', t3, t4],
      ] as const;
      const rates: Record<string, number> = {};
      for (const [phase, from, to] of phases) {
        for (const name of ['speaking', 'silent'] as const) {
          const tap = taps.get(name)!;
          const secs = (to - from) / 1000;
          const up = rtpOf(tap, true, from, to);
          const down = rtpOf(tap, false, from, to);
          const upSizes = histogram(up.map((p) => p.size));
          const downSizes = histogram(down.map((p) => p.size));
          const other = tap.packets.filter((p) => p.kind !== 'rtp' && p.t >= from && p.t < to);
          rates[`${phase} ${name} up`] = up.length / secs;
          rates[`${phase} ${name} down`] = down.length / secs;
          console.log(
            `${phase}, ${name}: up ${fmt(up.length / secs)} RTP/s sizes ${upSizes}; down ${fmt(down.length / secs)} RTP/s sizes ${downSizes}, ` +
              `${count(down.map((p) => p.ssrc)).size} SSRCs at ${[...count(down.map((p) => p.ssrc)).values()].map((c) => fmt(c / secs)).join('/')}/s; ` +
              `P bit on ${down.filter((p) => p.padding).length}/${down.length} down; other datagrams ${other.length} (${histogram(other.map((p) => p.kind))})`,
          );
          expect(count(up.map((p) => p.size)).size).toBe(1); // one uplink size
          expect(count(down.map((p) => p.size)).size).toBe(1); // one downlink size
          expect(down.every((p) => p.padding)).toBe(true); // every downlink audio packet: P bit (clear header says nothing)
          expect(up.length / secs).toBeGreaterThan(45);
          expect(up.length / secs).toBeLessThan(55);
          const ssrcRates = [...count(down.map((p) => p.ssrc)).values()].map((c) => c / secs);
          expect(ssrcRates.length).toBe(3); // 3 receive slots, padded or not
          for (const r of ssrcRates) {
            expect(r).toBeGreaterThan(42); // 50/s; generous: relay, observer, proxies and the test share one event loop on 2 shared cores
            expect(r).toBeLessThan(58);
          }
          // Only the negotiated, allowed extensions (mid, abs-send-time) on the wire, both ways.
          const ids = new Set([...up, ...down].flatMap((p) => p.extIds));
          expect(ids.size).toBeLessThanOrEqual(2);
        }
        const sizesUp = new Set(['speaking', 'silent'].map((n) => [...count(rtpOf(taps.get(n as Name)!, true, from, to).map((p) => p.size)).keys()][0]));
        const sizesDown = new Set(['speaking', 'silent'].map((n) => [...count(rtpOf(taps.get(n as Name)!, false, from, to).map((p) => p.size)).keys()][0]));
        console.log(`${phase}: spread up ${fmt(Math.abs(rates[`${phase} speaking up`]! - rates[`${phase} silent up`]!), 2)} pkt/s, down ${fmt(Math.abs(rates[`${phase} speaking down`]! - rates[`${phase} silent down`]!), 2)} pkt/s; sizes up ${[...sizesUp]} B, down ${[...sizesDown]} B`);
        expect(sizesUp.size).toBe(1); // the same size for both pages
        expect(sizesDown.size).toBe(1);
        expect(Math.abs(rates[`${phase} speaking up`]! - rates[`${phase} silent up`]!)).toBeLessThan(2.5);
        expect(Math.abs(rates[`${phase} speaking down`]! - rates[`${phase} silent down`]!)).toBeLessThan(7.5);
      }
      for (const name of ['speaking', 'silent']) {
        const before = rates[`3 pages ${name} down`]!;
        const after = rates[`after a leave ${name} down`]!;
        console.log(`${name}: downlink ${fmt(before)} -> ${fmt(after)} RTP/s across the leave`);
        expect(Math.abs(after - before)).toBeLessThan(before * 0.1); // an empty slot is padded: the cadence does not change (150/s; without padding: 100/s)
      }

      // ---- what Chromium does with the padding-only packets ----
      // RTP level: counted as received (no loss: they fill the sequence); then handed to the encoded
      // transform as empty frames, which the SDK drops and counts as `padding` (never `rejected`); a
      // slot that only ever got padding never ran a decoder (no samples, no concealment).
      for (const [i, s] of stats.entries()) {
        const name = i === 0 ? 'speaking' : 'silent';
        const by = s.e2e.byReceiver as Record<string, { opened: number; rejected: number; padding: number }>;
        console.log(
          `${name} page inbound-rtp: ${s.inbound.map((x: any) => `mid ${x.mid}: ${x.packets} pkts, lost ${x.lost}, concealed ${x.concealed}/${x.samples}, e2e opened ${by[x.mid]?.opened} padding ${by[x.mid]?.padding} refused ${by[x.mid]?.rejected}`).join('; ')}`,
        );
        const heard = s.inbound.reduce((a: any, x: any) => ((by[x.mid]?.opened ?? 0) > (by[a.mid]?.opened ?? 0) ? x : a));
        expect(by[heard.mid]!.opened).toBeGreaterThan(1000); // the other page, through both phases
        expect(heard.concealed / heard.samples).toBeLessThan(0.1);
        const padOnly = s.inbound.filter((x: any) => (by[x.mid]?.opened ?? 0) === 0);
        expect(padOnly.length).toBe(1); // the observer's slot
        expect(padOnly[0].packets).toBeGreaterThan(1000);
        expect(padOnly[0].samples).toBe(0);
        expect(padOnly[0].concealed).toBe(0);
        for (const x of s.inbound) expect(x.lost).toBeLessThan(x.packets * 0.02); // loopback under load (0 in a quiet run): padding fills the sequence, it opens no gap
        for (const r of Object.values(by)) expect(r.rejected).toBe(0);
        expect(Object.values(by).reduce((a, r) => a + r.padding, 0)).toBeGreaterThan(1000);
      }
      for (const [i, e] of e2e1.entries()) {
        const sealed = e.send.audio.sealed - e2e0[i]!.send.audio.sealed;
        console.log(`${i === 0 ? 'speaking' : 'silent'}: ${sealed} frames sealed in the two phases (${fmt(sealed / ((t4 - t1) / 1000))}/s), oversize ${e.send.audio.oversize}`);
        expect(e.send.audio.oversize).toBe(0);
      }
      const sdps = await Promise.all(['speaking', 'silent'].map((n) => pages.get(n as Name)!.evaluate(() => [window.call.pc.localDescription.sdp, window.call.pc.remoteDescription.sdp])));
      for (const sdp of [...sdps.flat(), observer.answer, observer.pc.localDescription!.sdp]) expect(forbiddenExtensions(sdp)).toEqual([]);

      // ---- the leak meter: the page speaking in a block (1) vs the one silent (0), per window ----
      // The meter's classifier (scoreLeak: trains on the first half by time, scores the second), run
      // both ways (2-fold: the second run trains on the second half) and averaged, so the score rests
      // on every window; asserted on 50 ms windows (enough of them for the bound to mean something:
      // the CI printed), the 100 ms figure printed beside it.
      for (const windowMs of [WINDOW_MS, 100]) {
        const net = emptySet();
        const relaySet = emptySet();
        const nb = Math.min(...blocks.map((k) => Math.floor((k.to - k.from) / windowMs)));
        for (const [k, { from, speaker }] of blocks.entries()) {
          for (const name of ['speaking', 'silent'] as const) {
            const label = name === speaker ? 1 : 0;
            const trace = taps.get(name)!.trace(from, from + nb * windowMs);
            const vol = traceWindows(trace, from, nb, windowMs);
            const tim = timingWindows(trace, from, nb, windowMs);
            appendSet(net, windows(vol.map((r, i) => [...r, ...tim[i]!]), label, k * nb));
            appendSet(relaySet, windows(relayWindows(bySlot.get(slotOf.get(name)!) ?? [], from, nb, windowMs), label, k * nb));
          }
        }
        const views = [
          ['network observer next to the relay (up+down packets, bytes, gap mean/sd)', twoFold(net, [...OBSERVER_FEATURES, ...TIMING_FEATURES])],
          ['relay side after SRTP (payload bytes, markers, RTP timestamp advance, gap mean/sd)', twoFold(relaySet, RELAY_FEATURES)],
        ] as const;
        for (const [view, [f1, f2, mean, ci]] of views) {
          console.log(`leak meter, ${windowMs} ms windows (${BLOCKS} blocks of ${nb} per page), ${view}: ${fmt(mean * 100)}% ± ${fmt(ci * 100)} (2-fold mean; fold 1 ${pct(f1)}; fold 2 ${pct(f2)})`);
          if (windowMs === WINDOW_MS) expect(mean).toBeLessThanOrEqual(0.55);
        }
      }
      const sizes = new Set([...bySlot.get(slotOf.get('speaking')!)!, ...bySlot.get(slotOf.get('silent')!)!].filter((a) => a.t >= t1).map((a) => a.payload));
      expect([...sizes]).toEqual([SEALED_AUDIO_BYTES]);
    } finally {
      for (const page of pages.values()) await page.evaluate(() => window.call?.leave()).catch(() => undefined);
      await observer.close();
      for (const tap of taps.values()) tap.close();
    }
  }, 90_000);
});

/** The meter's score trained on each half in turn: both folds, their mean and the mean's 95% half-width. */
function twoFold(set: WindowSet, names: readonly string[]): [LeakScore, LeakScore, number, number] {
  const maxW = set.w.reduce((a, b) => Math.max(a, b), 0);
  const f1 = scoreLeak(set, names);
  const f2 = scoreLeak({ ...set, w: set.w.map((w) => maxW - w) }, names);
  return [f1, f2, (f1.balancedAccuracy + f2.balancedAccuracy) / 2, Math.sqrt(f1.ci95 ** 2 + f2.ci95 ** 2) / 2];
}

function windows(x: number[][], label: number, w0: number): WindowSet {
  return { x, y: x.map(() => label), w: x.map((_, i) => w0 + i) };
}

function count<T>(xs: T[]): Map<T, number> {
  const m = new Map<T, number>();
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
}

function histogram<T>(xs: T[]): string {
  return [...count(xs)].map(([k, v]) => `${k}x${v}`).join(', ');
}

async function waitFor2(page: Page, members: number): Promise<void> {
  for (let t = 0; t < 150 && (await page.evaluate(() => window.callLog.filter((e: any) => e[0] === 'member').length)) < members; t++) await sleep(100);
}

function e2eOf(...pages: Page[]): Promise<any[]> {
  return Promise.all(pages.map((p) => p.evaluate(() => window.call.e2eStats())));
}

async function pageStats(): Promise<any> {
  const inbound: any[] = [];
  (await window.call.pc.getStats()).forEach((s: any) => {
    if (s.type === 'inbound-rtp' && s.kind === 'audio') inbound.push({ mid: s.mid, packets: s.packetsReceived, lost: s.packetsLost, nacks: s.nackCount, concealed: s.concealedSamples, samples: s.totalSamplesReceived });
  });
  // The SDK keys its receive counters by slot order (`audio-0`, ...): map them to the slots' mids.
  const e2e = await window.call.e2eStats();
  const byMid: Record<string, unknown> = {};
  window.call.pc
    .getTransceivers()
    .filter((t: any) => t.receiver.track.kind === 'audio' && t.direction === 'recvonly')
    .forEach((t: any, i: number) => (byMid[t.mid] = e2e.byReceiver[`audio-${i}`]));
  return { inbound, e2e: { ...e2e, byReceiver: byMid } };
}
