/**
 * Issue 12: a peer without the call secret gets nothing useful. Two RTCPeerConnections in one
 * Chromium page (loopback only): B opens with another call secret, so every frame is refused and
 * counted, no video frame is decoded and no audio energy comes out; a B with no transform at all
 * gets the sealed frames raw (printed: what a decoder makes of them).
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SKIP_BROWSER } from './harness.js';
import { useRtcPages, type PairStats } from './rtc-site.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- page functions run in the browser */
declare const window: any;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.skipIf(SKIP_BROWSER)('RTC end-to-end encryption in Chromium: without the key', () => {
  const world = useRtcPages();

  it('a receiver with another call secret refuses every frame (counted), decodes no video and no sound', async () => {
    const page = await world.openPage();
    const r = await page.evaluate((o) => window.rtcPair(o), { secretA: [...randomBytes(32)], secretB: [...randomBytes(32)], mode: 'script', video: true, silentToo: false });
    expect(r.state).toBe('connected');
    await sleep(4000);
    const s: PairStats = await page.evaluate(() => window.rtcPairStats());
    await page.close();
    const audio = s.in.find((x) => x.kind === 'audio')!;
    const video = s.in.find((x) => x.kind === 'video')!;
    const rx = s.e2eB!.recv;
    console.log(
      `wrong key: audio ${audio.packetsReceived} packets in, ${rx.audio.rejected} frames refused, energy ${audio.totalAudioEnergy ?? 0}; video ${video.packetsReceived} packets, ${rx.video.rejected} frames refused, ${video.framesDecoded ?? 0} decoded`,
    );
    // The packets arrive (the transport is fine) ...
    expect(audio.packetsReceived).toBeGreaterThan(100);
    expect(video.packetsReceived).toBeGreaterThan(20);
    // ... and nothing opens.
    expect(rx.audio.opened + rx.video.opened).toBe(0);
    expect(rx.audio.rejected).toBeGreaterThan(100);
    expect(rx.video.rejected).toBeGreaterThan(20);
    expect(video.framesDecoded ?? 0).toBe(0);
    expect(audio.totalAudioEnergy ?? 0).toBe(0);
    // The sender was sending real sound and video meanwhile.
    expect(s.e2eA.send.audio.sealed).toBeGreaterThan(100);
    expect(s.src.find((x) => x.kind === 'audio')!.totalAudioEnergy).toBeGreaterThan(0);
  }, 60_000);

  it('a receiver with no transform at all gets sealed frames (printed: what its decoders make of them)', async () => {
    const page = await world.openPage();
    const r = await page.evaluate((o) => window.rtcPair(o), { secretA: [...randomBytes(32)], secretB: [...randomBytes(32)], mode: 'script', video: true, silentToo: false, bPlain: true });
    expect(r.state).toBe('connected');
    await sleep(4000);
    const s: PairStats = await page.evaluate(() => window.rtcPairStats());
    await page.close();
    const audio = s.in.find((x) => x.kind === 'audio')!;
    const video = s.in.find((x) => x.kind === 'video')!;
    console.log(
      `no transform: audio ${audio.packetsReceived} packets (${audio.bytesReceived / audio.packetsReceived} B each), concealed ${audio.concealedSamples}/${audio.totalSamplesReceived}, energy ${audio.totalAudioEnergy}; ` +
        `video ${video.packetsReceived} packets, ${video.framesReceived ?? 0} frames assembled, ${video.framesDecoded ?? 0} decoded, ${video.keyFramesDecoded ?? 0} key`,
    );
    // Every audio payload is a 114-byte sealed record, not an Opus frame.
    expect(audio.bytesReceived).toBe(audio.packetsReceived * 114);
  }, 60_000);
});
