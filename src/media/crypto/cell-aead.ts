/**
 * Sealing and opening cells with ChaCha20-Poly1305 IETF (RFC 8439 §2.8), relay side, on
 * node:crypto (OpenSSL). Nonce = the cell's 12-byte header (session || counter), no AAD, 16-byte
 * tag after the ciphertext. libsodium's crypto_aead_chacha20poly1305_ietf_* produce and accept the
 * same bytes (the client SDK uses them; test/media/hop-keys.test.ts checks both ways).
 *
 * Hot path. Opening returns a code instead of throwing; the one exception left is OpenSSL's
 * Decipher.final() on a bad tag, caught here once. Cheap checks in the core (length, session,
 * replay window) run first, so only well-formed cells of a live session reach it. The native data
 * plane (issue 4) calls EVP directly and has no exception at all.
 */
import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from 'node:crypto';
import { HEADER_BYTES, TAG_BYTES, writeHeader } from '../codec/cell-layout.js';

export const OPEN_OK = 0;
export const OPEN_FORGED = 1;
const ALGO = 'chacha20-poly1305';
const OPTS = { authTagLength: TAG_BYTES } as const;

/** A 32-byte key as OpenSSL wants it, made once per session and direction. */
export function cellKey(raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new RangeError('cell key must be 32 bytes');
  return createSecretKey(raw);
}

/**
 * Seals `body` into a new wire cell (header + ciphertext + tag). One Buffer per cell: dgram may
 * still hold it after send() returns, so cells are never reused.
 */
export function sealCell(key: KeyObject, session: number, counter: number, body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + body.length + TAG_BYTES);
  writeHeader(out, session, counter);
  const c = createCipheriv(ALGO, key, out.subarray(0, HEADER_BYTES), OPTS);
  const n = c.update(body).copy(out, HEADER_BYTES);
  c.final();
  c.getAuthTag().copy(out, HEADER_BYTES + n);
  return out;
}

/** Result of openCell: the code, and the body when OPEN_OK (a fresh buffer, safe to keep slices of). */
export class Opened {
  code = OPEN_FORGED;
  body: Buffer = Buffer.alloc(0);
}

/** Opens a wire cell whose length the caller already checked. Never throws. */
export function openCell(key: KeyObject, cell: Uint8Array, out: Opened): number {
  const end = cell.length - TAG_BYTES;
  try {
    const d = createDecipheriv(ALGO, key, cell.subarray(0, HEADER_BYTES), OPTS);
    d.setAuthTag(cell.subarray(end));
    out.body = d.update(cell.subarray(HEADER_BYTES, end));
    d.final();
    out.code = OPEN_OK;
  } catch {
    out.code = OPEN_FORGED;
  }
  return out.code;
}
