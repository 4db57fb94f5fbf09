/**
 * Issue 12, must-show 3 (SDK half): a speaking and a silent sender send the same sizes at the same
 * rate. One Chromium page, two RTCPeerConnections (loopback only); A sends the fake microphone
 * (a tone that beeps) on one transceiver and the same microphone with `track.enabled = false`
 * (what a muted browser encodes) on another, both sealed. Measured over 3 s from getStats
 * (payload bytes per RTP packet, packets per second) and from the sealer's own counters (the
 * encoder's frame sizes before the pad, the sealed sizes after).
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SEALED_AUDIO_BYTES } from '../../src/client/rtc/frame-e2ee.js';
import { SKIP_BROWSER } from './harness.js';
import { useRtcPages, type PairStats } from './rtc-site.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- page functions run in the browser */
declare const window: any;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.skipIf(SKIP_BROWSER)('RTC end-to-end encryption in Chromium: uniform audio', () => {
  const world = useRtcPages();

  it('speaking and silent senders: one sealed size, the same packet rate', async () => {
    const page = await world.openPage();
    const secret = [...randomBytes(32)];
    const r = await page.evaluate((o) => window.rtcPair(o), { secretA: secret, secretB: secret, mode: 'script', video: false, silentToo: true });
    expect(r.state).toBe('connected');
    await sleep(1000);
    const t0 = Date.now();
    const s0: PairStats = await page.evaluate(() => window.rtcPairStats());
    await sleep(3000);
    const s1: PairStats = await page.evaluate(() => window.rtcPairStats());
    const secs = (Date.now() - t0) / 1000;
    await page.close();
    const byMid = (s: PairStats, mid: string): any => s.out.find((x) => x.mid === mid);
    const rows = [
      ['speaking', '0'],
      ['silent', '1'],
    ].map(([name, mid]) => {
      const a = byMid(s0, mid!);
      const b = byMid(s1, mid!);
      const packets = b.packetsSent - a.packetsSent;
      const bytes = b.bytesSent - a.bytesSent;
      const e2e = s1.e2eA.bySender[name!]!;
      return { name, packets, rate: packets / secs, perPacket: bytes / packets, encoderMin: e2e.inMin, encoderMax: e2e.inMax, sealedMin: e2e.outMin, sealedMax: e2e.outMax, oversize: e2e.oversize };
    });
    for (const x of rows) {
      console.log(
        `${x.name}: ${x.packets} packets in ${secs.toFixed(2)} s (${x.rate.toFixed(1)}/s), ${x.perPacket} payload bytes per packet; encoder frames ${x.encoderMin}..${x.encoderMax} B, sealed ${x.sealedMin}..${x.sealedMax} B, oversize ${x.oversize}`,
      );
    }
    const [speaking, silent] = rows as [(typeof rows)[0], (typeof rows)[0]];
    console.log(`spread: payload size ${Math.abs(speaking.perPacket - silent.perPacket)} B, rate ${Math.abs(speaking.rate - silent.rate).toFixed(2)}/s`);
    // The microphone really made sound on the speaking sender.
    expect(s1.src.find((x) => x.kind === 'audio' && x.totalAudioEnergy > 0)).toBeDefined();
    for (const x of [speaking, silent]) {
      expect(x.perPacket).toBe(SEALED_AUDIO_BYTES); // every packet, both senders
      expect(x.sealedMin).toBe(SEALED_AUDIO_BYTES);
      expect(x.sealedMax).toBe(SEALED_AUDIO_BYTES);
      expect(x.oversize).toBe(0);
      expect(x.rate).toBeGreaterThan(40); // 50/s (20 ms frames, DTX off); generous for 2 shared cores
      expect(x.rate).toBeLessThan(60);
    }
    // Same rate: both encoders are clocked by the same capture; within 10% (scheduling on shared cores).
    expect(Math.abs(speaking.packets - silent.packets)).toBeLessThanOrEqual(Math.max(5, speaking.packets * 0.1));
  }, 60_000);

  it('control: without cbr=1 in the applied answer the encoder varies its frame sizes; the seal still sends one size and counts what it drops', async () => {
    const page = await world.openPage();
    const secret = [...randomBytes(32)];
    const r = await page.evaluate((o) => window.rtcPair(o), { secretA: secret, secretB: secret, mode: 'script', video: false, silentToo: true, vbr: true });
    expect(r.state).toBe('connected');
    await sleep(4000);
    const s: PairStats = await page.evaluate(() => window.rtcPairStats());
    await page.close();
    for (const name of ['speaking', 'silent']) {
      const e = s.e2eA.bySender[name]!;
      const mid = name === 'speaking' ? '0' : '1';
      const out = s.out.find((x) => x.mid === mid);
      expect(out.codecId).not.toMatch(/cbr=1/);
      console.log(`VBR ${name}: encoder frames ${e.inMin}..${e.inMax} B, sealed ${e.outMin}..${e.outMax} B, ${e.sealed} sealed, ${e.oversize} dropped as oversize; ${out.bytesSent / out.packetsSent} payload bytes per packet`);
      expect(out.bytesSent).toBe(out.packetsSent * SEALED_AUDIO_BYTES);
      expect([e.outMin, e.outMax]).toEqual([SEALED_AUDIO_BYTES, SEALED_AUDIO_BYTES]);
    }
    // VBR really varies: speech and silence frames differ in size (what CBR + the pad hide) ...
    const sp = s.e2eA.bySender.speaking!;
    const si = s.e2eA.bySender.silent!;
    expect(Math.max(sp.inMax, si.inMax) - Math.min(sp.inMin, si.inMin)).toBeGreaterThan(10);
    // ... and frames above the pad are dropped and counted, never sent in another size: the
    // sender's frames (sealed + oversize) match the silent sender's count (within scheduling noise).
    const frames = (e: typeof sp): number => e.sealed + e.oversize;
    expect(Math.abs(frames(sp) - frames(si))).toBeLessThanOrEqual(Math.max(5, frames(si) * 0.1));
  }, 60_000);
});
