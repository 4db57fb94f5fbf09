/**
 * SDP munging for the WebRTC edge (src/client/rtc/sdp-munge.ts) on an offer recorded from Debian's
 * Chromium 156 (sendonly audio, sendonly video, one recvonly audio, a data channel), and the
 * roster parser of the `xrelay` data channel.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as nodeSdk from '../../src/client/node.js';
import { parseRtcRoster } from '../../src/client/rtc/roster.js';
import { checkRtcOffer, forbiddenExtensionsIn, mungeRtcSdp, opusParamsIn, rtcSections } from '../../src/client/rtc/sdp-munge.js';
import { RTC_ALLOWED_HEADER_EXTENSIONS, RTC_FORBIDDEN_HEADER_EXTENSIONS } from '../../src/wire/rtc-header-extensions.js';

const OFFER = readFileSync(join(__dirname, 'fixtures/chromium-offer.sdp'), 'utf8');

describe('SDP munging for the edge', () => {
  it('the recorded offer has what the munging must remove', () => {
    expect(forbiddenExtensionsIn(OFFER)).toContain('urn:ietf:params:rtp-hdrext:ssrc-audio-level');
    expect(opusParamsIn(OFFER)[0]!.usedtx).toBeUndefined();
    expect(rtcSections(OFFER)[0]!.codecs).toContain('red');
  });

  it('munged: Opus only with usedtx=0, cbr=1, 32 kbit/s; VP8 (+RTX) only; only allowed extensions; m-lines untouched', () => {
    const m = mungeRtcSdp(OFFER);
    expect(forbiddenExtensionsIn(m)).toEqual([]);
    for (const uri of Object.keys(RTC_FORBIDDEN_HEADER_EXTENSIONS)) expect(m.includes(uri)).toBe(false);
    for (const uri of RTC_ALLOWED_HEADER_EXTENSIONS) expect(m.includes(uri)).toBe(true);
    const opus = opusParamsIn(m);
    expect(opus.length).toBe(2);
    for (const p of opus) expect(p).toMatchObject({ usedtx: '0', cbr: '1', maxaveragebitrate: '32000', stereo: '0', useinbandfec: '1', minptime: '10' });
    const before = rtcSections(OFFER);
    const after = rtcSections(m);
    expect(after.map((s) => [s.kind, s.mid, s.direction])).toEqual(before.map((s) => [s.kind, s.mid, s.direction]));
    expect(after.map((s) => s.codecs)).toEqual([['opus'], ['vp8', 'rtx'], ['opus'], []]);
    // m= lines list exactly the kept payload types; no attribute names a removed one.
    expect(m).toMatch(/^m=audio 9 UDP\/TLS\/RTP\/SAVPF 111\r$/m);
    expect(m).toMatch(/^m=video 9 UDP\/TLS\/RTP\/SAVPF 96 97\r$/m);
    expect(m).not.toMatch(/^a=(rtpmap|fmtp|rtcp-fb):(63|9|0|8|13|110|126|102|45|98) /m);
    expect(m.endsWith('\r\n')).toBe(true);
    expect(mungeRtcSdp(m)).toBe(m); // idempotent
  });

  it('an Opus line without fmtp gets one', () => {
    const sdp = OFFER.replace(/a=fmtp:111 [^\r]*\r\n/g, '');
    expect(opusParamsIn(mungeRtcSdp(sdp)).every((p) => p.usedtx === '0' && p.cbr === '1')).toBe(true);
  });

  it('checkRtcOffer names each broken rule', () => {
    const m = mungeRtcSdp(OFFER);
    expect(checkRtcOffer(m, { video: true, slots: 1 })).toEqual([expect.stringMatching(/^m-line order/)]);
    expect(checkRtcOffer(m.replace(/\r\nm=video[\s\S]*?(?=\r\nm=audio)/, ''), { video: false, slots: 1 })).toEqual([expect.stringMatching(/BUNDLE/)]);
    const raw = checkRtcOffer(OFFER, { video: true, slots: 1 });
    expect(raw.some((p) => p.includes('usedtx'))).toBe(true);
    expect(raw.some((p) => p.includes('forbidden header extensions'))).toBe(true);
    expect(checkRtcOffer(m.replace(/a=rtcp-mux\r\n/, ''), { video: true, slots: 1 }).some((p) => p.includes('rtcp-mux'))).toBe(true);
  });
});

describe('the portable RTC pieces from the Node entry', () => {
  it('node.js exports the munging, checks, sealing and roster parser (not RtcCall, which needs a browser)', () => {
    expect(nodeSdk.mungeRtcSdp).toBe(mungeRtcSdp);
    expect(nodeSdk.parseRtcRoster).toBe(parseRtcRoster);
    expect(typeof nodeSdk.FrameSealer).toBe('function');
    expect(typeof nodeSdk.FrameOpener).toBe('function');
    expect(nodeSdk.RTC_ALLOWED_HEADER_EXTENSIONS).toBe(RTC_ALLOWED_HEADER_EXTENSIONS);
    expect('RtcCall' in nodeSdk).toBe(false);
  });
});

describe('the xrelay roster', () => {
  it('parses slots messages and refuses anything else', () => {
    expect(parseRtcRoster('{"type":"slots","epoch":3,"slots":[{"mid":"2","member":"AbC-_1","kind":"audio"}]}')).toEqual({ epoch: 3, slots: [{ mid: '2', member: 'AbC-_1', kind: 'audio' }] });
    for (const bad of ['', 'x', '{}', 'null', '[]', '{"type":"slots","epoch":-1,"slots":[]}', '{"type":"slots","epoch":1}', '{"type":"slots","epoch":1,"slots":[{"mid":"2","member":"a b","kind":"audio"}]}', '{"type":"slots","epoch":1,"slots":[{"mid":"2","member":"a","kind":"data"}]}', '{"type":"slots","epoch":1,"slots":[null]}', 7, '{"type":"other","epoch":1,"slots":[]}']) {
      expect(parseRtcRoster(bad)).toBeUndefined();
    }
  });
});
