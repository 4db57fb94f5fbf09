/**
 * BLAKE2b (src/crypto/blake2b.ts) against RFC 7693 Appendix A and known BLAKE2b-256 digests, and
 * against node:crypto's fixed 64-byte `blake2b512` on random inputs across block boundaries.
 */
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { blake2b } from '../../src/crypto/blake2b.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const abc = new TextEncoder().encode('abc');

describe('blake2b', () => {
  it('matches RFC 7693 Appendix A (BLAKE2b-512 of "abc")', () => {
    expect(hex(blake2b(abc, 64))).toBe(
      'ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1' +
        '7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923',
    );
  });

  it('BLAKE2b-256 is its own function (output length in the parameter block), not a truncation', () => {
    expect(hex(blake2b(new Uint8Array(0), 32))).toBe('0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8');
    expect(hex(blake2b(abc, 32))).toBe('bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319');
    expect(hex(blake2b(abc, 32))).not.toBe(hex(blake2b(abc, 64)).slice(0, 64));
  });

  it('equals node:crypto blake2b512 on random inputs of 0..300 bytes (one, two and three blocks)', () => {
    for (let n = 0; n <= 300; n += 7) {
      const input = randomBytes(n);
      expect(hex(blake2b(input, 64))).toBe(createHash('blake2b512').update(input).digest('hex'));
    }
    for (const n of [127, 128, 129, 255, 256, 257]) {
      const input = randomBytes(n);
      expect(hex(blake2b(input, 64))).toBe(createHash('blake2b512').update(input).digest('hex'));
    }
  });

  it('refuses output lengths outside 1..64', () => {
    for (const bad of [0, 65, 1.5, -1]) expect(() => blake2b(abc, bad)).toThrow(RangeError);
    expect(blake2b(abc, 1)).toHaveLength(1);
  });
});
