// RFC 5769 test vectors (sections 2.1-2.4) as hex, decoded, verified and re-encoded byte for byte.
import { describe, expect, it } from 'vitest';
import {
  Attr, DecodeResult, Method, StunClass, StunMessage, StunWriter, TransportAddress, composeType, classOf, methodOf,
  decodeAddress, decodeStun, longTermKey, preparePassword, verifyFingerprint, verifyIntegrity, isStunMessage,
  decodeErrorCode, encodeChannelData, channelDataNumber, isChannelData, parseIp, formatIpv6, StreamFramer, FrameResult,
  decodeLifetime, decodeChannelNumber, decodeRequestedTransport, decodeRequestedAddressFamily, encodeUnknownAttributes,
  decodeUnknownAttributes, verifyIntegritySha256,
} from '../../src/turn/codec/index.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

const SAMPLE_REQUEST = hex(`
  00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74
  00 24 00 04 6e 00 01 ff
  80 29 00 08 93 2f f9 b1 51 26 3b 36
  00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20
  00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2
  80 28 00 04 e5 7a 3b cf`);
const SAMPLE_IPV4_RESPONSE = hex(`
  01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
  00 20 00 08 00 01 a1 47 e1 12 a6 43
  00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7
  80 28 00 04 c0 7d 4c 96`);
const SAMPLE_IPV6_RESPONSE = hex(`
  01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
  00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9
  00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41
  80 28 00 04 c8 fb 0b 4c`);
const SAMPLE_LONG_TERM = hex(`
  00 01 00 60 21 12 a4 42 78 ad 34 33 c6 ad 72 c0 29 da 41 2e
  00 06 00 12 e3 83 9e e3 83 88 e3 83 aa e3 83 83 e3 82 af e3 82 b9 00 00
  00 15 00 1c 66 2f 2f 34 39 39 6b 39 35 34 64 36 4f 4c 33 34 6f 4c 39 46 53 54 76 79 36 34 73 41
  00 14 00 0b 65 78 61 6d 70 6c 65 2e 6f 72 67 00
  00 08 00 14 f6 70 24 65 6d d6 4a 3e 02 b8 e0 71 2e 85 c9 a2 8c a8 96 66`);
const SHORT_TERM = Buffer.from('VOkJxbRl1RmTxUk/WvJxBt');

function decoded(buf: Buffer): StunMessage {
  const m = new StunMessage();
  expect(decodeStun(Buffer.from(buf), m)).toBe(DecodeResult.ok);
  return m;
}

describe('RFC 5769 vectors', () => {
  it('2.1 sample request: attributes, MESSAGE-INTEGRITY, FINGERPRINT', () => {
    const m = decoded(SAMPLE_REQUEST);
    expect(m.method).toBe(Method.binding);
    expect(m.cls).toBe(StunClass.request);
    expect(m.string(Attr.software)).toBe('STUN test client');
    expect(m.string(Attr.username)).toBe('evtj:h6vY');
    expect(m.value(Attr.priority)).toEqual(hex('6e0001ff'));
    expect(verifyIntegrity(m.buf, m.integrityAt, SHORT_TERM)).toBe(true);
    expect(verifyIntegrity(m.buf, m.integrityAt, Buffer.from('wrong'))).toBe(false);
    expect(verifyFingerprint(m.buf, m.fingerprintAt)).toBe(true);
  });

  it('2.2 IPv4 response: 192.0.2.1:32853', () => {
    const m = decoded(SAMPLE_IPV4_RESPONSE);
    expect(m.cls).toBe(StunClass.success);
    const a = new TransportAddress();
    expect(decodeAddress(m.value(Attr.xorMappedAddress)!, m.transactionId(), a)).toBe(0);
    expect([a.family, a.ip, a.port]).toEqual([4, '192.0.2.1', 32853]);
    expect(verifyIntegrity(m.buf, m.integrityAt, SHORT_TERM)).toBe(true);
    expect(verifyFingerprint(m.buf, m.fingerprintAt)).toBe(true);
  });

  it('2.3 IPv6 response: [2001:db8:1234:5678:11:2233:4455:6677]:32853', () => {
    const m = decoded(SAMPLE_IPV6_RESPONSE);
    const a = new TransportAddress();
    expect(decodeAddress(m.value(Attr.xorMappedAddress)!, m.transactionId(), a)).toBe(0);
    expect([a.family, a.ip, a.port]).toEqual([6, '2001:db8:1234:5678:11:2233:4455:6677', 32853]);
    expect(verifyIntegrity(m.buf, m.integrityAt, SHORT_TERM)).toBe(true);
    expect(verifyFingerprint(m.buf, m.fingerprintAt)).toBe(true);
  });

  it('2.4 long-term credentials, SASLprep, byte-exact re-encode', () => {
    const m = decoded(SAMPLE_LONG_TERM);
    const username = '\u30de\u30c8\u30ea\u30c3\u30af\u30b9';
    expect(m.string(Attr.username)).toBe(username);
    expect(m.string(Attr.nonce)).toBe('f//499k954d6OL34oL9FSTvy64sA');
    expect(m.string(Attr.realm)).toBe('example.org');
    expect(m.fingerprintAt).toBe(-1);
    expect(preparePassword('The\u00adM\u00aatr\u2168')).toBe('TheMatrIX');
    const key = longTermKey(username, 'example.org', 'The\u00adM\u00aatr\u2168');
    expect(key).toEqual(longTermKey(username, 'example.org', 'TheMatrIX'));
    expect(verifyIntegrity(m.buf, m.integrityAt, key)).toBe(true);
    const again = new StunWriter(64)
      .begin(Method.binding, StunClass.request, m.transactionId())
      .string(Attr.username, username)
      .string(Attr.nonce, 'f//499k954d6OL34oL9FSTvy64sA')
      .string(Attr.realm, 'example.org')
      .integrity(key)
      .finish();
    expect(again.toString('hex')).toBe(SAMPLE_LONG_TERM.toString('hex'));
  });

  it('re-encodes 2.2 from its parts (SOFTWARE padding differs: we pad with zeros)', () => {
    const m = decoded(SAMPLE_IPV4_RESPONSE);
    const out = new StunWriter()
      .begin(Method.binding, StunClass.success, m.transactionId())
      .string(Attr.software, 'test vector')
      .address(Attr.xorMappedAddress, '192.0.2.1', 32853)
      .integrity(SHORT_TERM)
      .fingerprint()
      .finish();
    const back = decoded(out);
    expect(back.value(Attr.xorMappedAddress)).toEqual(m.value(Attr.xorMappedAddress));
    expect(verifyIntegrity(back.buf, back.integrityAt, SHORT_TERM)).toBe(true);
    expect(verifyFingerprint(back.buf, back.fingerprintAt)).toBe(true);
  });
});

describe('header and attributes', () => {
  it.each([
    [Method.allocate, StunClass.request, 0x0003],
    [Method.allocate, StunClass.success, 0x0103],
    [Method.allocate, StunClass.error, 0x0113],
    [Method.send, StunClass.indication, 0x0016],
    [Method.data, StunClass.indication, 0x0017],
    [Method.channelBind, StunClass.request, 0x0009],
    [0xfff, StunClass.error, 0x3fff],
  ])('method %i class %i is type %i', (method, cls, type) => {
    expect(composeType(method, cls)).toBe(type);
    expect(methodOf(type)).toBe(method);
    expect(classOf(type)).toBe(cls);
  });

  it('MESSAGE-INTEGRITY-SHA256 and attributes after integrity are ignored', () => {
    const key = Buffer.from('k');
    const msg = new StunWriter().begin(Method.refresh, StunClass.request, Buffer.alloc(12, 7)).u32(Attr.lifetime, 0).integritySha256(key).fingerprint().finish();
    const m = decoded(msg);
    expect(verifyIntegritySha256(m.buf, m.integritySha256At, key)).toBe(true);
    expect(verifyIntegritySha256(m.buf, m.integritySha256At, Buffer.from('x'))).toBe(false);
    const extra = Buffer.concat([msg.subarray(0, msg.length - 8), hex('00130004 01020304'), msg.subarray(msg.length - 8)]);
    extra.writeUInt16BE(extra.length - 20, 2);
    const e = decoded(extra);
    expect(e.has(Attr.data)).toBe(false);
    expect(verifyIntegritySha256(e.buf, e.integritySha256At, key)).toBe(true);
  });

  it('small TURN attributes', () => {
    expect(decodeLifetime(hex('00000258'))).toBe(600);
    expect(decodeLifetime(hex('0258'))).toBe(-1);
    expect(decodeChannelNumber(hex('40010000'))).toBe(0x4001);
    expect(decodeChannelNumber(hex('3fff0000'))).toBe(0);
    expect(decodeChannelNumber(hex('7fff0000'))).toBe(0x7fff);
    expect(decodeChannelNumber(hex('80000000'))).toBe(0);
    expect(decodeRequestedTransport(hex('11000000'))).toBe(17);
    expect(decodeRequestedAddressFamily(hex('02000000'))).toBe(6);
    expect(decodeRequestedAddressFamily(hex('03000000'))).toBe(0);
    expect(decodeUnknownAttributes(encodeUnknownAttributes([0x0031, 0x7fff]))).toEqual([0x0031, 0x7fff]);
    const ec = new StunWriter().begin(1, 3, Buffer.alloc(12)).errorCode(438).finish();
    const m = decoded(ec);
    expect(decodeErrorCode(m.value(Attr.errorCode)!)).toBe(438);
    expect(m.string(Attr.errorCode)!.slice(4)).toBe('Stale Nonce');
    expect(decodeErrorCode(hex('000002 63'))).toBe(0);
  });

  it('addresses: IPv4, IPv6, mapped, canonical text', () => {
    const tid = Buffer.alloc(12, 0x5a);
    for (const [ip, port, want] of [
      ['203.0.113.7', 1, '203.0.113.7'],
      ['2001:db8::1', 65535, '2001:db8::1'],
      ['::', 3478, '::'],
      ['::ffff:192.0.2.9', 9, '192.0.2.9'],
      ['fe80::1:2:3:4', 7, 'fe80::1:2:3:4'],
      ['1:0:0:2:0:0:0:3', 8, '1:0:0:2::3'],
    ] as const) {
      const msg = new StunWriter().begin(Method.send, StunClass.indication, tid).address(Attr.xorPeerAddress, ip, port).finish();
      const a = new TransportAddress();
      expect(decodeAddress(decoded(msg).value(Attr.xorPeerAddress)!, tid, a)).toBe(0);
      expect([a.ip, a.port]).toEqual([want, port]);
    }
    const b = new Uint8Array(16);
    expect(parseIp('not-an-ip', b)).toBe(0);
    expect(parseIp('1.2.3.256', b)).toBe(0);
    expect(parseIp('1::2::3', b)).toBe(0);
    expect(parseIp('2001:0DB8:0000:0000:0001:0000:0000:0001', b)).toBe(16);
    expect(formatIpv6(b)).toBe('2001:db8::1:0:0:1');
    expect(() => new StunWriter().begin(1, 0, tid).address(Attr.xorPeerAddress, 'nope', 1)).toThrow(TypeError);
  });

  it('ChannelData and classifiers', () => {
    const cd = encodeChannelData(0x4001, Buffer.from('hello'));
    expect(cd.length).toBe(9);
    expect(isChannelData(cd)).toBe(true);
    expect(isStunMessage(cd)).toBe(false);
    expect(channelDataNumber(cd)).toBe(0x4001);
    expect(channelDataNumber(cd.subarray(0, 8))).toBe(0);
    expect(channelDataNumber(hex('80000000'))).toBe(0);
    expect(encodeChannelData(0x4fff, Buffer.from('hello'), true).length).toBe(12);
    expect(isStunMessage(SAMPLE_REQUEST)).toBe(true);
  });

  it('decode refuses malformed framing with a result code', () => {
    const good = new StunWriter().begin(1, 0, Buffer.alloc(12, 1)).string(Attr.software, 'abc').finish();
    const mutate = (f: (b: Buffer) => void): Buffer => {
      const b = Buffer.from(good);
      f(b);
      return b;
    };
    const m = new StunMessage();
    expect(decodeStun(good.subarray(0, 19), m)).toBe(DecodeResult.tooShort);
    expect(decodeStun(good.subarray(0, good.length - 1), m)).toBe(DecodeResult.badLength);
    expect(decodeStun(mutate((b) => (b[0]! |= 0x80)), m)).toBe(DecodeResult.notStun);
    expect(decodeStun(mutate((b) => (b[4]! ^= 1)), m)).toBe(DecodeResult.badCookie);
    expect(decodeStun(mutate((b) => b.writeUInt16BE(9, 22)), m)).toBe(DecodeResult.badAttribute);
    expect(decodeStun(mutate((b) => b.writeUInt16BE(2, 2)), m)).toBe(DecodeResult.badLength);
    expect(decodeStun(Buffer.concat([good, Buffer.from('trail')]), m)).toBe(DecodeResult.ok);
    const many = new StunWriter().begin(1, 0, Buffer.alloc(12));
    for (let i = 0; i < 40; i++) many.u32(Attr.priority, i);
    expect(decodeStun(many.finish(), m)).toBe(DecodeResult.tooManyAttributes);
  });

  it('stream framer splits STUN and padded ChannelData, keeps partial tails', () => {
    const stun = new StunWriter().begin(Method.refresh, 0, Buffer.alloc(12, 3)).u32(Attr.lifetime, 0).finish();
    const cd = encodeChannelData(0x4002, Buffer.from('abcde'), true);
    const stream = Buffer.concat([cd, stun, cd, stun]);
    const f = new StreamFramer();
    const got: number[] = [];
    expect(f.push(stream.subarray(0, stream.length - 5), (m) => got.push(m.length))).toBe(FrameResult.needMore);
    expect(f.push(stream.subarray(stream.length - 5), (m) => got.push(m.length))).toBe(FrameResult.ok);
    expect(got).toEqual([12, stun.length, 12, stun.length]);
    expect(new StreamFramer().push(hex('80000000'), () => {})).toBe(FrameResult.invalid);
    expect(new StreamFramer(100).push(hex('00010400 2112a442'), () => {})).toBe(FrameResult.invalid);
  });
});
