/**
 * RFC 8489 section 14.7: FINGERPRINT, the CRC-32 (ISO HDLC, as in zlib) of the message up to the
 * attribute, XORed with 0x5354554e, computed with the header length covering the FINGERPRINT itself.
 */
import { Attr, HEADER_LENGTH } from './constants.js';

const FINGERPRINT_XOR = 0x5354554e;

const TABLE = (() => {
  const t = new Int32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[i] = c;
  }
  return t;
})();

function crc32(buf: Uint8Array, start = 0, end = buf.length): number {
  let c = -1;
  for (let i = start; i < end; i++) c = TABLE[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/** FINGERPRINT value for a message whose FINGERPRINT attribute header starts at `at`. */
export function computeFingerprint(buf: Buffer, at: number): number {
  const saved = buf.readUInt16BE(2);
  buf.writeUInt16BE(at + 8 - HEADER_LENGTH, 2);
  const crc = crc32(buf, 0, at);
  buf.writeUInt16BE(saved, 2);
  return (crc ^ FINGERPRINT_XOR) >>> 0;
}

/** True when the FINGERPRINT attribute at `at` (its TLV header offset) matches. */
export function verifyFingerprint(buf: Buffer, at: number): boolean {
  if (at < HEADER_LENGTH || at + 8 > buf.length || buf.readUInt16BE(at) !== Attr.fingerprint) return false;
  return computeFingerprint(buf, at) === buf.readUInt32BE(at + 4);
}
