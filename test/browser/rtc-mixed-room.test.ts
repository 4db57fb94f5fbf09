/**
 * Issue 12, must-show 4 (mixed rooms): 2 Chromium pages with RtcCall on the WebRTC edge and 2 Node
 * SDK clients on UDP cells (CallClient) in one audio room (one call secret). All 12 directed pairs
 * deliver: each browser opens (e2eStats, per receive slot) and plays (audio energy > 0) the other
 * browser and both Node clients; each Node client opens frames from the two browsers and the other
 * Node client. The Node clients send real Opus frames (encoded once by Chromium's WebCodecs
 * AudioEncoder at 32 kbit/s CBR: 80 bytes, the browsers' pad) with `packetBytes: 80`, so every
 * record of the room is 114 bytes. The relay's cell bridge passes records both ways without a key.
 * Bad input: a cell member sending garbage records of the largest size, malformed bodies and forged
 * cells costs the browsers nothing but refused frames on that member's slot.
 */
import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { CallClient } from '../../src/client/node.js';
import { roomIdOf } from '../../src/client/call/e2e-keys.js';
import { encodeBase64url } from '../../src/wire/b64url.js';
import { SKIP_BROWSER } from './harness.js';
import { useRtcEdge } from './rtc-site.js';
import { RawCellMember } from '../bridge/raw-cell-member.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- page functions run in the browser */
declare const window: any;
declare const AudioEncoder: any;
declare const AudioData: any;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Page side: 2 s of a 440 Hz tone as Opus frames (WebCodecs), 20 ms each, CBR 32 kbit/s. */
async function encodeTone(): Promise<number[][]> {
  const frames: number[][] = [];
  let failure = '';
  const enc = new AudioEncoder({
    output: (chunk: any) => {
      const b = new Uint8Array(chunk.byteLength);
      chunk.copyTo(b);
      frames.push([...b]);
    },
    error: (e: any) => (failure = String(e)),
  });
  enc.configure({ codec: 'opus', sampleRate: 48000, numberOfChannels: 1, bitrate: 32000, bitrateMode: 'constant', opus: { frameDuration: 20000, usedtx: false } });
  const n = 48000 * 2;
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = 0.3 * Math.sin((2 * Math.PI * 440 * i) / 48000);
  enc.encode(new AudioData({ format: 'f32', sampleRate: 48000, numberOfFrames: n, numberOfChannels: 1, timestamp: 0, data }));
  await enc.flush();
  enc.close();
  if (failure !== '') throw new Error(failure);
  return frames;
}

describe.skipIf(SKIP_BROWSER)('mixed room: RtcCall browsers on the edge and CallClients on UDP cells', () => {
  const world = useRtcEdge({ media: { enabled: true } });

  it('2 browsers + 2 Node clients, one audio room: all 12 directed pairs deliver, opened end to end', async () => {
    const secret = randomBytes(32);
    const pages: Page[] = [];
    const calls: CallClient[] = [];
    let talk: NodeJS.Timeout | undefined;
    try {
      for (let i = 0; i < 2; i++) {
        const page = await world.browser.open(`${world.site.origin}/index.html`);
        pages.push(page);
        expect(await page.evaluate((o) => window.rtcJoin(o), { relay: world.relay.url, secret: [...secret], slots: 7 })).toEqual({ ok: true });
      }
      const tone = (await pages[0]!.evaluate(encodeTone)).map((f) => Uint8Array.from(f));
      const toneSizes = new Set(tone.map((f) => f.length));
      console.log(`tone: ${tone.length} Opus frames of ${[...toneSizes].join(',')} bytes`);
      expect(Math.max(...toneSizes)).toBeLessThanOrEqual(80);

      for (let i = 0; i < 2; i++) calls.push(await CallClient.join({ relay: world.relay.url, callSecret: secret, profile: 'audio', transport: 'udp', packetBytes: 80 }));
      const heard = calls.map(() => new Map<number, number>()); // sender slot -> frames opened
      calls.forEach((c, i) => c.on('frame', (f) => heard[i]!.set(f.slot, (heard[i]!.get(f.slot) ?? 0) + 1)));
      // One frame per 20 ms of wall time: a late timer catches up (the client's send queue paces it out).
      let n = 0;
      const t0 = performance.now();
      talk = setInterval(() => {
        for (const due = Math.floor((performance.now() - t0) / 20); n < due; n++) for (const c of calls) c.send(tone[n % tone.length]!);
      }, 20);

      // Each browser sees 3 members (the other browser, two cell clients).
      for (const page of pages) {
        for (let t = 0; t < 150 && (await page.evaluate(() => window.callLog.filter((e: any) => e[0] === 'member').length)) < 3; t++) await sleep(100);
      }
      await sleep(4000);
      const reports = await Promise.all(
        pages.map((page) =>
          page.evaluate(async () => {
            const inbound: any[] = [];
            (await window.call.pc.getStats()).forEach((s: any) => {
              if (s.type === 'inbound-rtp' && s.kind === 'audio') inbound.push({ mid: s.mid, packets: s.packetsReceived, energy: s.totalAudioEnergy, concealed: s.concealedSamples, samples: s.totalSamplesReceived, bytes: s.bytesReceived });
            });
            return { log: window.callLog, e2e: await window.call.e2eStats(), inbound, stats: window.call.stats };
          }),
        ),
      );
      const core = world.relay.media!.core.stats;
      const m = (name: string): number => world.relay.metric(name);
      console.log(
        `relay (${world.relay.media!.dataPlane} data plane): bridge to_rtc ${m('xrelay_rtc_bridge_records_total{direction="to_rtc"}')}, to_cells ${m('xrelay_rtc_bridge_records_total{direction="to_cells"}')}, ` +
          `dropped ${['oversize', 'refused', 'bad_cell', 'unknown_slot', 'no_slot'].map((r) => `${r} ${m(`xrelay_rtc_bridge_dropped_total{reason="${r}"}`)}`).join(', ')}; ` +
          `cell core: missed ticks ${core.missedTicks}, queue drops ${core.queueDrops}, stale drops ${core.staleDrops}, external (JS behind) drops ${m('xrelay_media_ws_backpressure_drops_total')}`,
      );
      for (const [i, r] of reports.entries()) {
        const live = r.inbound.filter((s: any) => s.packets > 50 && s.samples > 0); // padding-only slots (the edge pads every slot) never start a decoder
        const opened = Object.values(r.e2e.byReceiver as Record<string, { opened: number; rejected: number; inMin: number; inMax: number }>);
        console.log(
          `browser ${i}: sealed ${r.e2e.send.audio.sealed}; opened per slot ${opened.map((o) => o.opened).join('/')} (refused ${opened.map((o) => o.rejected).join('/')}, sizes in ${opened.map((o) => `${o.inMin}..${o.inMax}`).join('/')}); ` +
            `audio slots ${live.map((s: any) => `${s.packets} pkts ${(s.bytes / s.packets).toFixed(0)} B/pkt, energy ${s.energy.toFixed(3)}, concealed ${s.concealed}/${s.samples}`).join('; ')}`,
        );
        expect(r.log.some((e: any) => e[0] === 'closed')).toBe(false);
        expect(r.log.filter((e: any) => e[0] === 'member').length).toBeGreaterThanOrEqual(3);
        expect(live.length).toBe(3); // the other browser and both Node clients (of 7 receive slots)
        for (const s of live) expect(s.energy).toBeGreaterThan(0);
        expect(opened.filter((o) => o.opened > 50).length).toBe(3);
      }
      const slots = calls.map((c) => c.slot);
      for (const [i, c] of calls.entries()) {
        console.log(`node client ${i} (slot ${c.slot}): opened per sender slot`, Object.fromEntries(heard[i]!), `rejected ${c.stats.e2eRejected}, missed ticks ${c.stats.missedTicks}, send queue drops ${c.stats.sendQueueDrops}, rejoins ${c.stats.rejoins}`);
        const from = [...heard[i]!].filter(([, count]) => count > 50).map(([slot]) => slot);
        expect(from.length).toBe(3); // two browsers (the bridge's slots) and the other Node client
        expect(from).toContain(slots[1 - i]);
        expect(from).not.toContain(c.slot);
        expect(c.roster.length).toBe(4);
        expect(c.stats.e2eRejected).toBe(0);
      }
    } finally {
      clearInterval(talk);
      for (const page of pages) await page.evaluate(() => window.call?.leave()).catch(() => undefined);
      await Promise.all(calls.map((c) => c.leave()));
    }
  }, 120_000);

  it('bad input: a cell member sending garbage does not disturb the browsers', async () => {
    const secret = randomBytes(32);
    const pages: Page[] = [];
    let call: CallClient | undefined;
    let raw: RawCellMember | undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      for (let i = 0; i < 2; i++) {
        const page = await world.browser.open(`${world.site.origin}/index.html`);
        pages.push(page);
        expect(await page.evaluate((o) => window.rtcJoin(o), { relay: world.relay.url, secret: [...secret], slots: 7 })).toEqual({ ok: true });
      }
      const tone = (await pages[0]!.evaluate(encodeTone)).map((f) => Uint8Array.from(f));
      call = await CallClient.join({ relay: world.relay.url, callSecret: secret, profile: 'audio', transport: 'udp', packetBytes: 80 });
      raw = await RawCellMember.join(world.relay.url, roomIdOf(secret), 'audio');
      const max = raw.upBytes - 5;
      let n = 0;
      const t0 = performance.now();
      timer = setInterval(() => {
        for (const due = Math.floor((performance.now() - t0) / 20); n < due; n++) {
          call!.send(tone[n % tone.length]!);
          const r = raw!;
          if (n % 3 === 0) r.sendRecords([randomBytes(max)]); // garbage of the largest record size
          else if (n % 3 === 1) r.sendRecords([Uint8Array.from([0xdf, 0x80, ...randomBytes(max - 2)])]); // SFrame-looking, RTC-range KID
          else {
            r.sendBody(randomBytes(r.upBytes)); // malformed body
            r.sendRaw(randomBytes(r.upBytes + 28)); // forged cell
          }
        }
      }, 20);
      for (const page of pages) {
        for (let t = 0; t < 150 && (await page.evaluate(() => window.callLog.filter((e: any) => e[0] === 'member').length)) < 3; t++) await sleep(100);
      }
      await sleep(4000);
      for (const [i, page] of pages.entries()) {
        const r = await page.evaluate(async () => {
          const inbound: any[] = [];
          (await window.call.pc.getStats()).forEach((s: any) => {
            if (s.type === 'inbound-rtp' && s.kind === 'audio') inbound.push({ mid: s.mid, packets: s.packetsReceived, energy: s.totalAudioEnergy, bytes: s.bytesReceived });
          });
          return { log: window.callLog, e2e: await window.call.e2eStats(), inbound };
        });
        const bySlot = Object.values(r.e2e.byReceiver as Record<string, { opened: number; rejected: number }>).filter((o) => o.opened + o.rejected > 0);
        const withEnergy = r.inbound.filter((s: any) => s.packets > 50 && s.energy > 0);
        console.log(`browser ${i} beside a garbage cell member: per slot opened/refused ${bySlot.map((o) => `${o.opened}/${o.rejected}`).join(' ')}; slots with audio energy ${withEnergy.length}; packets ${r.inbound.map((s: any) => s.packets).join('/')}`);
        expect(r.log.some((e: any) => e[0] === 'closed')).toBe(false);
        expect(bySlot.filter((o) => o.opened > 100 && o.rejected === 0).length).toBe(2); // the other browser and the Node client, whole
        expect(bySlot.filter((o) => o.opened === 0 && o.rejected > 50).length).toBe(1); // the garbage member: every frame refused
        expect(withEnergy.length).toBe(2);
      }
    } finally {
      clearInterval(timer);
      raw?.close();
      for (const page of pages) await page.evaluate(() => window.call?.leave()).catch(() => undefined);
      await call?.leave();
    }
  }, 120_000);
});
