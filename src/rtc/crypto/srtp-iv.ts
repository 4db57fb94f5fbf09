/**
 * What the two SRTP profiles the edge speaks share between sealing and opening (srtp-seal.ts,
 * srtp-open.ts): the once-per-context setup, and the per-packet IVs written into a reused scratch
 * buffer (one place for the bit layout).
 *
 * - AEAD_AES_128_GCM, RFC 7714 §8.1: 12 bytes, salt XOR (0x0000 || SSRC || ROC || SEQ).
 * - AES_CM_128_HMAC_SHA1_80, RFC 3711 §4.1.1: 16 bytes, (salt << 16) XOR (SSRC << 64) XOR
 *   ((ROC << 16 | SEQ) << 16); the low 16 bits are the block counter, starting at 0.
 */
import { createSecretKey, type KeyObject } from 'node:crypto';
import type { SrtpSealProfile, SrtpSessionKeys } from './srtp-seal.js';

/**
 * What a sealer and an opener of one profile set up once: the tag's length (GCM 16 bytes, RFC 7714
 * §8.2; AES-CM HMAC-SHA1-80 10 bytes, RFC 3711 §4.2), the key object and the IV scratch.
 */
export function srtpSetup(profile: SrtpSealProfile, keys: SrtpSessionKeys): { tagBytes: number; key: KeyObject; iv: Buffer } {
  if (profile === 'aes128cm-sha1-80' && keys.authKey === undefined) throw new Error('AES-CM needs an auth key');
  const gcm = profile === 'aes128gcm';
  return { tagBytes: gcm ? 16 : 10, key: createSecretKey(keys.key), iv: Buffer.alloc(gcm ? 12 : 16) };
}

/** Writes the GCM IV for (ssrc, roc, seq) into `iv` (12 bytes) from the 12-byte `salt`. */
export function gcmIv(iv: Buffer, salt: Buffer, ssrc: number, roc: number, seq: number): Buffer {
  iv[0] = salt[0]!;
  iv[1] = salt[1]!;
  xorU32(iv, 2, ssrc, salt);
  xorU32(iv, 6, roc, salt);
  iv[10] = salt[10]! ^ ((seq >>> 8) & 0xff);
  iv[11] = salt[11]! ^ (seq & 0xff);
  return iv;
}

/** Writes the AES-CM counter block for (ssrc, roc, seq) into `iv` (16 bytes) from the 14-byte `salt`. */
export function cmIv(iv: Buffer, salt: Buffer, ssrc: number, roc: number, seq: number): Buffer {
  for (let i = 0; i < 4; i++) iv[i] = salt[i]!;
  xorU32(iv, 4, ssrc, salt);
  xorU32(iv, 8, roc, salt);
  iv[12] = salt[12]! ^ ((seq >>> 8) & 0xff);
  iv[13] = salt[13]! ^ (seq & 0xff);
  iv[14] = 0;
  iv[15] = 0;
  return iv;
}

/** iv[at..at+4) = salt[at..at+4) XOR v (big-endian). */
function xorU32(iv: Buffer, at: number, v: number, salt: Buffer): void {
  iv[at] = salt[at]! ^ (v >>> 24);
  iv[at + 1] = salt[at + 1]! ^ ((v >>> 16) & 0xff);
  iv[at + 2] = salt[at + 2]! ^ ((v >>> 8) & 0xff);
  iv[at + 3] = salt[at + 3]! ^ (v & 0xff);
}
