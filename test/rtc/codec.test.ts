// The edge's codecs: the SDP offer policy (table-driven), the header-extension allow-list filter,
// and the RTP header reader (RFC 3550 / RFC 8285 vectors, then random and mutated input).
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ALLOWED_EXTENSION_URIS, forbiddenExtensions, stripForbiddenExtensions } from '../../src/rtc/codec/header-extensions.js';
import { classifyFirstByte, findExtension, isKeyframeRequest, readRtpHeader, RTP_BAD_LENGTH, RTP_BAD_VERSION, RTP_IS_RTCP, RTP_OK, RTP_TOO_SHORT, type RtpFields } from '../../src/rtc/codec/rtp-header.js';
import { rembExponent } from '../../src/rtc/codec/remb.js';
import { checkOffer, parseOffer, type Offer } from '../../src/rtc/codec/sdp-offer.js';
import { offerFixture } from './offer-fixture.js';

function verdict(sdp: string, video = false, max = 7): unknown {
  const p = parseOffer(sdp);
  return typeof p === 'string' ? p : checkOffer(p, video, max);
}

describe('SDP offer policy', () => {
  it('accepts the contract layout and returns the receive-slot mids', () => {
    expect(verdict(offerFixture({ slots: 3 }))).toEqual({ audio: ['1', '2', '3'], video: [] });
    expect(verdict(offerFixture({ slots: 2, video: true }), true)).toEqual({ audio: ['2', '3'], video: ['4', '5'] });
    expect(verdict(offerFixture({ slots: 0 }))).toEqual({ audio: [], video: [] });
  });

  it.each([
    ['not SDP', 'hello', 'unparsable'],
    ['empty', '', 'unparsable'],
    ['binary', randomBytes(300).toString('latin1'), 'unparsable'],
    ['no BUNDLE', offerFixture({ bundle: false }), 'no_bundle'],
    ['no rtcp-mux', offerFixture({ rtcpMux: false }), 'no_rtcp_mux'],
    ['unknown codecs only', offerFixture({ audioCodec: 'x-secret/8000' }), 'no_codec'],
    ['too many slots', offerFixture({ slots: 8 }), 'too_many_m_lines'],
    ['video m-lines in an audio room', offerFixture({ slots: 1, video: true }), 'bad_layout'],
    ['a line without =', offerFixture().replace('s=-', 's-'), 'unparsable'],
    ['a media line without mid', offerFixture().replace('a=mid:1\r\n', ''), 'unparsable'],
    ['an m-line missing from BUNDLE', offerFixture().replace(/a=group:BUNDLE 0 1 2 3/, 'a=group:BUNDLE 0 1 2'), 'no_bundle'],
    ['uplink recvonly', offerFixture().replace('a=sendonly', 'a=recvonly'), 'bad_layout'],
    ['unknown media kind', offerFixture().replace('m=application', 'm=text'), 'bad_layout'],
  ])('refuses %s', (_name, sdp, reason) => {
    expect(verdict(sdp)).toBe(reason);
  });

  it('a video room needs the video uplink and as many video as audio slots', () => {
    expect(verdict(offerFixture({ slots: 2 }), true)).toBe('bad_layout');
    const p = parseOffer(offerFixture({ slots: 2, video: true })) as Offer;
    const dropped: Offer = { bundle: p.bundle, media: p.media.filter((m) => m.mid !== '5') };
    expect(checkOffer(dropped, true, 7)).toBe('bad_layout');
  });

  it('never throws on mutated offers', () => {
    const base = Buffer.from(offerFixture({ slots: 2, video: true }));
    for (let i = 0; i < 2000; i++) {
      const b = Buffer.from(base);
      for (let k = 0; k < 4; k++) b[Math.floor(Math.random() * b.length)] = Math.floor(Math.random() * 256);
      const v = verdict(b.toString('latin1'), true);
      expect(v === undefined).toBe(false);
    }
  });
});

describe('header extensions', () => {
  it('strips every extension outside the allow-list and keeps the allowed ones', () => {
    const sdp = offerFixture();
    expect(forbiddenExtensions(sdp).sort()).toEqual(['urn:3gpp:video-orientation', 'urn:ietf:params:rtp-hdrext:ssrc-audio-level']);
    const stripped = stripForbiddenExtensions(sdp);
    expect(forbiddenExtensions(stripped)).toEqual([]);
    expect(stripped).toContain('a=extmap:2 urn:ietf:params:rtp-hdrext:sdes:mid');
    expect(stripped).toContain('transport-wide-cc-extensions-01');
    expect(stripped.split('\r\n').length).toBe(sdp.split('\r\n').length - 2 * 3); // 3 RTP m-lines, 2 refused extensions each
    expect(ALLOWED_EXTENSION_URIS.size).toBe(3);
    // direction-qualified and attribute-carrying extmap lines are recognised too (RFC 8285 §5)
    expect(forbiddenExtensions('a=extmap:4/sendonly urn:ietf:params:rtp-hdrext:csrc-audio-level vad=on')).toEqual(['urn:ietf:params:rtp-hdrext:csrc-audio-level']);
  });
});

const fields = (): RtpFields => ({ payloadType: 0, marker: false, sequence: 0, timestamp: 0, ssrc: 0, payloadOffset: 0, extOffset: 0, extLength: 0, extProfile: 0 });

describe('RTP header reader', () => {
  it('reads a packet with a one-byte extension block (RFC 3550 §5.1, RFC 8285 §4.2)', () => {
    // V=2 X=1 CC=0 | M=1 PT=111 | seq 0x1234 | ts 0xdeadbeef | ssrc 0x01020304 | 0xBEDE len 2 words:
    // id 3 len 2 (tw-cc seq 0x0102), id 1 len 1 (mid "5"), padding
    const hex = '90ef1234deadbeef01020304bede0002' + '310102' + '1035' + '0000' + '00' + 'aabbcc';
    const b = Buffer.from(hex, 'hex');
    const f = fields();
    expect(readRtpHeader(b, f)).toBe(RTP_OK);
    expect(f).toMatchObject({ payloadType: 111, marker: true, sequence: 0x1234, timestamp: 0xdeadbeef, ssrc: 0x01020304, extProfile: 0xbede, extLength: 8, payloadOffset: 24 });
    const len = new Uint32Array(1);
    const tw = findExtension(b, f, 3, len);
    expect([b.readUInt16BE(tw), len[0]]).toEqual([0x0102, 2]);
    const mid = findExtension(b, f, 1, len);
    expect([String.fromCharCode(b[mid]!), len[0]]).toEqual(['5', 1]);
    expect(findExtension(b, f, 7, len)).toBe(-1);
    expect(b.subarray(f.payloadOffset).toString('hex')).toBe('aabbcc');
  });

  it('reads the two-byte form (RFC 8285 §4.3) and CSRCs', () => {
    const b = Buffer.from('9160000100000002000000030000000a' + '10000001' + '0502abcd' + 'ff', 'hex');
    const f = fields();
    expect(readRtpHeader(b, f)).toBe(RTP_OK);
    expect(f.payloadOffset).toBe(24);
    const len = new Uint32Array(1);
    const at = findExtension(b, f, 5, len);
    expect(b.subarray(at, at + len[0]!).toString('hex')).toBe('abcd');
  });

  it('refuses what is not RTP with a code', () => {
    const f = fields();
    expect(readRtpHeader(Buffer.alloc(11), f)).toBe(RTP_TOO_SHORT);
    expect(readRtpHeader(Buffer.from('4000000000000000000000000000', 'hex'), f)).toBe(RTP_BAD_VERSION);
    expect(readRtpHeader(Buffer.from('80c8000600000001000000000000', 'hex'), f)).toBe(RTP_IS_RTCP); // SR, PT 200
    expect(readRtpHeader(Buffer.from('9060000100000002000000030bede00ff', 'hex'), f)).toBe(RTP_BAD_LENGTH);
    expect(readRtpHeader(Buffer.from('8f60000100000002000000030000', 'hex'), f)).toBe(RTP_BAD_LENGTH); // 15 CSRCs announced
  });

  it('never throws and never reads past the buffer on random input', () => {
    const f = fields();
    const len = new Uint32Array(1);
    for (let i = 0; i < 20_000; i++) {
      const b = randomBytes(Math.floor(Math.random() * 64));
      if (b.length > 0) b[0] = 0x80 | (b[0]! & 0x3f);
      if (readRtpHeader(b, f) === RTP_OK) {
        expect(f.payloadOffset).toBeLessThanOrEqual(b.length);
        const at = findExtension(b, f, 1 + (i % 14), len);
        if (at >= 0) expect(at + len[0]!).toBeLessThanOrEqual(f.extOffset + f.extLength);
      }
    }
  });

  it('demultiplexes by first byte (RFC 7983 §7) and names key-frame requests (RFC 4585, RFC 5104)', () => {
    expect([0, 1, 3, 4, 20, 63, 64, 127, 128, 191, 192].map(classifyFirstByte)).toEqual(['stun', 'stun', 'stun', 'other', 'dtls', 'dtls', 'other', 'other', 'rtp', 'rtp', 'other']);
    expect([isKeyframeRequest(206, 1), isKeyframeRequest(206, 4), isKeyframeRequest(206, 15), isKeyframeRequest(205, 1)]).toEqual(['pli', 'fir', undefined, undefined]);
  });
});

describe('REMB bitrate encoding (draft-alvestrand-rmcat-remb §2.2)', () => {
  it('fits the mantissa in 18 bits and loses less than one part in 2^17', () => {
    expect(rembExponent(1_500_000)).toEqual({ exp: 3, mantissa: 187_500 });
    expect(rembExponent(200_000)).toEqual({ exp: 0, mantissa: 200_000 });
    for (const bps of [0, 1, 262_143, 262_144, 1e6, 5e7, 1e12]) {
      const { exp, mantissa } = rembExponent(bps);
      expect(mantissa).toBeLessThan(1 << 18);
      expect(bps - mantissa * 2 ** exp).toBeGreaterThanOrEqual(0);
      expect(bps - mantissa * 2 ** exp).toBeLessThanOrEqual(bps / 2 ** 17);
    }
  });
});
