// Fuzz the codec: random, truncated, bit-flipped and TLV-soup input never throws, and every index the
// decoder returns stays inside the buffer. Deterministic (seeded PRNG) so failures reproduce.
import { describe, expect, it } from 'vitest';
import {
  Attr, StreamFramer, StunMessage, StunWriter, TransportAddress, channelDataNumber, decodeAddress, decodeChannelNumber,
  decodeErrorCode, decodeLifetime, decodeStun, encodeChannelData, isChannelData, isStunMessage, verifyFingerprint,
  verifyIntegrity, verifyIntegritySha256,
} from '../../src/turn/codec/index.js';
import { seededRng as prng } from '../../src/load/rng.js';


describe('codec fuzz', () => {
  it('never throws on 30k mutated inputs', () => {
    const rnd = prng(0xc0ffee);
    const bytes = (n: number): Buffer => {
      const b = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i++) b[i] = Math.floor(rnd() * 256);
      return b;
    };
    const tid = bytes(12);
    const key = Buffer.from('k');
    const seeds = [
      new StunWriter().begin(3, 0, tid).byteThenReserved(Attr.requestedTransport, 17).string(Attr.username, 'u').string(Attr.realm, 'r').string(Attr.nonce, 'n').integrity(key).fingerprint().finish(),
      new StunWriter().begin(6, 1, tid).address(Attr.xorPeerAddress, '2001:db8::9', 5).bytes(Attr.data, bytes(40)).finish(),
      new StunWriter().begin(9, 0, tid).u16ThenReserved(Attr.channelNumber, 0x4001).address(Attr.xorPeerAddress, '8.8.8.8', 53).integritySha256(key).finish(),
      encodeChannelData(0x4000, bytes(33), true),
    ];
    const m = new StunMessage();
    const a = new TransportAddress();
    let decodedOk = 0;
    for (let i = 0; i < 30_000; i++) {
      const seed = seeds[i % seeds.length]!;
      let buf: Buffer;
      switch (i % 4) {
        case 0:
          buf = bytes(Math.floor(rnd() * 120));
          break;
        case 1:
          buf = Buffer.from(seed.subarray(0, Math.floor(rnd() * seed.length)));
          break;
        case 2:
          buf = Buffer.from(seed);
          for (let k = 0; k < 1 + (i % 5); k++) buf[Math.floor(rnd() * buf.length)]! ^= 1 << (i % 8);
          break;
        default: {
          const body = bytes(4 * Math.floor(rnd() * 30));
          buf = Buffer.concat([Buffer.from([0, 1, body.length >> 8, body.length & 0xff, 0x21, 0x12, 0xa4, 0x42]), tid, body]);
        }
      }
      const result = decodeStun(buf, m);
      if (result === 0) {
        decodedOk++;
        expect(m.length).toBeLessThanOrEqual(buf.length);
        for (let j = 0; j < m.count; j++) {
          expect(m.offsets[j]! + m.lengths[j]!).toBeLessThanOrEqual(m.length);
          const v = m.valueAt(j);
          decodeAddress(v, m.transactionId(), a);
          decodeErrorCode(v);
          decodeLifetime(v);
          decodeChannelNumber(v);
        }
        if (m.integrityAt >= 0) verifyIntegrity(m.buf, m.integrityAt, key);
        if (m.integritySha256At >= 0) verifyIntegritySha256(m.buf, m.integritySha256At, key);
        if (m.fingerprintAt >= 0) verifyFingerprint(m.buf, m.fingerprintAt);
      } else {
        expect(result).toBeGreaterThan(0);
        expect(result).toBeLessThan(7);
      }
      isStunMessage(buf);
      isChannelData(buf);
      channelDataNumber(buf);
      decodeAddress(buf, tid, a);
      new StreamFramer(2048).push(buf, () => {});
    }
    expect(decodedOk).toBeGreaterThan(1000);
  });

  it('mutations never pass integrity', () => {
    const rnd = prng(42);
    const key = Buffer.from('secret');
    const msg = new StunWriter().begin(3, 0, Buffer.alloc(12, 9)).string(Attr.username, 'alice').u32(Attr.lifetime, 600).integrity(key).finish();
    const m = new StunMessage();
    for (let i = 0; i < 2000; i++) {
      const b = Buffer.from(msg);
      const at = 20 + Math.floor(rnd() * (msg.length - 20));
      b[at]! ^= 1 + Math.floor(rnd() * 255);
      if (decodeStun(b, m) === 0 && m.integrityAt >= 0) expect(verifyIntegrity(m.buf, m.integrityAt, key)).toBe(false);
    }
  });
});
