/**
 * Issue 12, the SDK's end-to-end layer in Chromium (the relay edge is not in this branch: two
 * RTCPeerConnections in one page, signalled directly, loopback candidates only). Audio and VP8
 * video decode at the far end through the sealing/opening transforms, with RTCRtpScriptTransform
 * and with the createEncodedStreams fallback, and the offer as munged has Opus usedtx=0, CBR at
 * 32 kbit/s and no forbidden header extension.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { forbiddenExtensionsIn, opusParamsIn, rtcSections } from '../../src/client/rtc/sdp-munge.js';
import { SKIP_BROWSER } from './harness.js';
import { useRtcPages, type PairStats } from './rtc-site.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- page functions run in the browser */
declare const window: any;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.skipIf(SKIP_BROWSER)('RTC end-to-end encryption in Chromium: media decodes through the transforms', () => {
  const world = useRtcPages();

  it("the transceiver APIs alone (no munging) already give an offer with only Opus/VP8 and allowed extensions", async () => {
    const page = await world.openPage();
    const r = await page.evaluate(async () => {
      const pc = new RTCPeerConnection();
      const took = [];
      for (const [kind, direction] of [['audio', 'sendonly'], ['video', 'sendonly'], ['audio', 'recvonly'], ['video', 'recvonly']]) {
        took.push(window.rtcSdk.restrictToEdgeRules(pc.addTransceiver(kind!, { direction: direction as RTCRtpTransceiverDirection }), kind));
      }
      pc.createDataChannel('xrelay');
      const sdp = (await pc.createOffer()).sdp!;
      pc.close();
      return { took, sdp };
    });
    await page.close();
    console.log(`Chromium's own offer after restrictToEdgeRules: ${JSON.stringify(r.took[0])}; extensions ${[...new Set([...r.sdp.matchAll(/a=extmap:\d+ (\S+)/g)].map((m) => m[1]))].join(' ')}`);
    expect(r.took.every((t: { codecs: boolean; extensions: boolean }) => t.codecs && t.extensions)).toBe(true);
    expect(forbiddenExtensionsIn(r.sdp)).toEqual([]);
    expect(rtcSections(r.sdp).map((x) => x.codecs.join('+'))).toEqual(['opus', 'vp8+rtx', 'opus', 'vp8+rtx', '']);
    // The fmtp parameters have no API: those come from the munging (and the applied answer).
    expect(opusParamsIn(r.sdp)[0]!.usedtx).toBeUndefined();
  }, 60_000);

  for (const mode of ['script', 'encoded-streams'] as const) {
    it(`rekey mid-call (${mode}): receivers first, then the sender; frames keep opening, none refused`, async () => {
      const page = await world.openPage();
      const secret = [...randomBytes(32)];
      const r = await page.evaluate((o) => window.rtcPair(o), { secretA: secret, secretB: secret, mode, video: true, silentToo: false });
      expect(r.state).toBe('connected');
      await sleep(1500);
      const before: PairStats = await page.evaluate(() => window.rtcPairStats());
      const next = [...randomBytes(32)];
      await page.evaluate((n) => {
        window.pair.e2eB.rekey(new Uint8Array(n));
        window.pair.e2eA.rekey(new Uint8Array(n));
      }, next);
      await sleep(2000);
      const after: PairStats = await page.evaluate(() => window.rtcPairStats());
      await page.close();
      const opened = (s: PairStats, k: 'audio' | 'video'): number => s.e2eB!.recv[k].opened;
      console.log(`rekey (${mode}): opened audio ${opened(before, 'audio')} -> ${opened(after, 'audio')}, video ${opened(before, 'video')} -> ${opened(after, 'video')}, refused ${after.e2eB!.recv.audio.rejected + after.e2eB!.recv.video.rejected}`);
      expect(opened(after, 'audio') - opened(before, 'audio')).toBeGreaterThan(60);
      expect(opened(after, 'video') - opened(before, 'video')).toBeGreaterThan(10);
      expect(after.e2eB!.recv.audio.rejected + after.e2eB!.recv.video.rejected).toBe(0);
      const video = after.in.find((x) => x.kind === 'video')!;
      expect(video.framesDecoded).toBeGreaterThan(opened(before, 'video'));
    }, 60_000);

    it(`audio and VP8 video decode at the far end through the ${mode} transform`, async () => {
      const page = await world.openPage();
      const secret = [...randomBytes(32)];
      const r = await page.evaluate((o) => window.rtcPair(o), { secretA: secret, secretB: secret, mode, video: true, silentToo: false });
      expect(r.modeA).toBe(mode);
      expect(r.state).toBe('connected');
      await sleep(4000);
      const s: PairStats = await page.evaluate(() => window.rtcPairStats());
      await page.close();
      const audio = s.in.find((x) => x.kind === 'audio')!;
      const video = s.in.find((x) => x.kind === 'video')!;
      const concealed = audio.concealedSamples / audio.totalSamplesReceived;
      console.log(
        `${mode}: audio ${audio.packetsReceived} packets, concealed ${(concealed * 100).toFixed(2)}%, energy ${audio.totalAudioEnergy.toFixed(3)} (source ${s.src.find((x) => x.kind === 'audio')?.totalAudioEnergy?.toFixed(3)}); ` +
          `video ${video.framesDecoded} frames decoded (${video.keyFramesDecoded} key), ${video.frameWidth}x${video.frameHeight}; e2e opened ${s.e2eB!.recv.audio.opened}/${s.e2eB!.recv.video.opened}, rejected ${s.e2eB!.recv.audio.rejected + s.e2eB!.recv.video.rejected}; ` +
          `sealed video frames ${s.e2eA.send.video.outMin}..${s.e2eA.send.video.outMax} B`,
      );
      expect(audio.packetsReceived).toBeGreaterThan(100);
      expect(concealed).toBeLessThan(0.15); // generous: jitter-buffer warm-up on 2 shared cores
      expect(audio.totalAudioEnergy).toBeGreaterThan(0); // the tone arrived, not silence
      expect(video.framesDecoded).toBeGreaterThan(20);
      expect(video.keyFramesDecoded).toBeGreaterThanOrEqual(1);
      expect(s.e2eB!.recv.audio).toMatchObject({ rejected: 0, replayed: 0 });
      expect(s.e2eB!.recv.video).toMatchObject({ rejected: 0, replayed: 0 });
      expect(s.e2eB!.recv.audio.opened).toBeGreaterThan(100);
      expect(s.e2eA.send.audio).toMatchObject({ oversize: 0, outMin: 114, outMax: 114 });
      // What went on the wire is what the transform sealed: 114-byte audio payloads.
      const out = s.out.find((x) => x.kind === 'audio')!;
      expect(out.bytesSent).toBe(out.packetsSent * 114);
      // The offer and answer as applied: Opus DTX off, CBR 32 kbit/s; only allowed extensions.
      for (const sdp of [r.offer, r.answer]) {
        expect(forbiddenExtensionsIn(sdp)).toEqual([]);
        expect(opusParamsIn(sdp)[0]).toMatchObject({ usedtx: '0', cbr: '1', maxaveragebitrate: '32000' });
      }
    }, 60_000);
  }
});
