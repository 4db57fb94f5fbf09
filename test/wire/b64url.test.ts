/** The portable base64url codec agrees with Node's Buffer on random input and refuses every non-canonical form. */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeBase64url, encodeBase64url } from '../../src/wire/b64url.js';
import { decodeB64url } from '../../src/wire/envelope-protocol.js';

describe('base64url on Uint8Array', () => {
  it('matches Buffer for every length 0..300 and random bytes', () => {
    for (let n = 0; n <= 300; n++) {
      const bytes = randomBytes(n);
      const text = encodeBase64url(bytes);
      expect(text).toBe(bytes.toString('base64url'));
      expect(Buffer.from(decodeBase64url(text)!)).toEqual(bytes);
    }
  });

  it('refuses padding, the standard alphabet, whitespace, bad lengths and set trailing bits', () => {
    expect(decodeBase64url('AQ==')).toBeUndefined();
    expect(decodeBase64url('+/8')).toBeUndefined();
    expect(decodeBase64url('AQ ')).toBeUndefined();
    expect(decodeBase64url('A')).toBeUndefined();
    expect(decodeBase64url('AR')).toBeUndefined(); // 'R' leaves low bits set: not the canonical 'AQ'
    expect(decodeBase64url('AQ')).toEqual(new Uint8Array([1]));
    expect(decodeBase64url('é')).toBeUndefined();
    const id = randomBytes(32);
    expect(decodeB64url(encodeBase64url(id), 32)).toEqual(new Uint8Array(id));
    expect(decodeB64url(encodeBase64url(id), 31)).toBeUndefined();
    expect(decodeB64url(42, 32)).toBeUndefined();
  });
});
