/**
 * RFC 8489 section 14.5 (MESSAGE-INTEGRITY, HMAC-SHA1), section 14.6 (MESSAGE-INTEGRITY-SHA256,
 * HMAC-SHA256, possibly truncated to 16..32 bytes) and section 9.2.2 (long-term key:
 * MD5(username ":" realm ":" OpaqueString(password)), the MD5 password algorithm).
 * The HMAC covers the message up to the attribute, with the header length as if it ended right
 * after the attribute.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { HEADER_LENGTH } from './constants.js';

/** Characters SASLprep / OpaqueString map to nothing (RFC 3454 table B.1). */
const MAPPED_TO_NOTHING = /[\u00ad\u034f\u1806\u180b-\u180d\u200b-\u200d\u2060\ufe00-\ufe0f\ufeff]/g;
/** Non-ASCII spaces (RFC 3454 table C.1.2) map to U+0020. */
const NON_ASCII_SPACE = /[\u00a0\u1680\u2000-\u200b\u202f\u205f\u3000]/g;

/** The SASLprep-style preparation of a password (RFC 4013), enough for RFC 5769's vector. */
export function preparePassword(password: string): string {
  return password.replace(MAPPED_TO_NOTHING, '').replace(NON_ASCII_SPACE, ' ').normalize('NFKC');
}

/** The 16-byte long-term credential key. */
export function longTermKey(username: string, realm: string, password: string): Buffer {
  return createHash('md5').update(`${username}:${realm}:${preparePassword(password)}`, 'utf8').digest();
}

function hmacOver(algorithm: 'sha1' | 'sha256', buf: Buffer, at: number, attrValueLength: number, key: Uint8Array): Buffer {
  const saved = buf.readUInt16BE(2);
  buf.writeUInt16BE(at + 4 + attrValueLength - HEADER_LENGTH, 2);
  const mac = createHmac(algorithm, key).update(buf.subarray(0, at)).digest();
  buf.writeUInt16BE(saved, 2);
  return mac;
}

/** HMAC-SHA1 for a MESSAGE-INTEGRITY attribute whose TLV header starts at `at`. */
export function computeIntegrity(buf: Buffer, at: number, key: Uint8Array): Buffer {
  return hmacOver('sha1', buf, at, 20, key);
}

/** HMAC-SHA256 for a MESSAGE-INTEGRITY-SHA256 attribute of `length` bytes at `at`. */
export function computeIntegritySha256(buf: Buffer, at: number, key: Uint8Array, length = 32): Buffer {
  return hmacOver('sha256', buf, at, length, key).subarray(0, length);
}

export function verifyIntegrity(buf: Buffer, at: number, key: Uint8Array): boolean {
  if (at < HEADER_LENGTH || at + 24 > buf.length) return false;
  return timingSafeEqual(computeIntegrity(buf, at, key), buf.subarray(at + 4, at + 24));
}

export function verifyIntegritySha256(buf: Buffer, at: number, key: Uint8Array): boolean {
  if (at < HEADER_LENGTH || at + 4 > buf.length) return false;
  const len = buf.readUInt16BE(at + 2);
  if (len < 16 || len > 32 || (len & 3) !== 0 || at + 4 + len > buf.length) return false;
  return timingSafeEqual(computeIntegritySha256(buf, at, key, len), buf.subarray(at + 4, at + 4 + len));
}
