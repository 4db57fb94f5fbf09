/**
 * Sealing an envelope so only the recipient can open it, and padding it to a size bucket so the
 * relay learns nothing but the bucket. libsodium's sealed box (crypto_box_seal: X25519 + XSalsa20-
 * Poly1305, anonymous sender) over the recipient's Ed25519 key converted to X25519.
 *
 * Plaintext inside the box (the relay never sees it):
 *   version(1)=1 || kindLength(1) || kind (UTF-8) || bodyLength(4, big-endian) || body || zero padding
 * `kind` (e.g. "call-offer", "chat") lives only here: to the relay every envelope is the same.
 */
import { XrelayClientError } from '../client-error.js';
import { sodiumOrThrow } from '../crypto-lib.js';

export const SEAL_OVERHEAD = 48; // crypto_box_SEALBYTES: ephemeral public key + MAC
const HEADER_BYTES = 1 + 1 + 4;
const VERSION = 1;
export const DEFAULT_BUCKETS: readonly number[] = [256, 1024, 4096, 16384, 65536];

export interface EnvelopeMessage {
  /** Event kind, at most 255 UTF-8 bytes; hidden from the relay. */
  kind: string;
  body: Uint8Array;
}

/**
 * Seals `message` to the owner of `recipientPublicKey` (Ed25519) and pads to the smallest fitting
 * bucket. Synchronous: needs `await ready()` once (`not_ready` otherwise); `too_large` if no bucket fits.
 */
export function sealEnvelope(recipientPublicKey: Uint8Array, message: EnvelopeMessage, buckets: readonly number[] = DEFAULT_BUCKETS): Uint8Array {
  const sodium = sodiumOrThrow();
  const kind = new TextEncoder().encode(message.kind);
  if (kind.length > 255) throw new XrelayClientError('too_large', 'kind is longer than 255 bytes');
  const needed = SEAL_OVERHEAD + HEADER_BYTES + kind.length + message.body.length;
  const bucket = [...buckets].sort((a, b) => a - b).find((b) => b >= needed);
  if (bucket === undefined) throw new XrelayClientError('too_large', `message needs ${needed} bytes; the largest bucket is ${Math.max(...buckets)}`);
  const plain = new Uint8Array(bucket - SEAL_OVERHEAD); // zero-filled: the padding
  const view = new DataView(plain.buffer);
  plain[0] = VERSION;
  plain[1] = kind.length;
  plain.set(kind, 2);
  view.setUint32(2 + kind.length, message.body.length);
  plain.set(message.body, HEADER_BYTES + kind.length);
  const recipientX25519 = sodium.crypto_sign_ed25519_pk_to_curve25519(recipientPublicKey);
  return sodium.crypto_box_seal(plain, recipientX25519);
}

/** Opens an envelope sealed to this mailbox's keys (`cannot_open`, `malformed`; `not_ready` before `await ready()`). */
export function openEnvelope(keys: { publicKey: Uint8Array; secretKey: Uint8Array }, sealed: Uint8Array): EnvelopeMessage {
  const sodium = sodiumOrThrow();
  let plain: Uint8Array;
  try {
    plain = sodium.crypto_box_seal_open(
      sealed,
      sodium.crypto_sign_ed25519_pk_to_curve25519(keys.publicKey),
      sodium.crypto_sign_ed25519_sk_to_curve25519(keys.secretKey),
    );
  } catch {
    throw new XrelayClientError('cannot_open', 'the envelope was not sealed to this mailbox or was altered');
  }
  if (plain.length < HEADER_BYTES || plain[0] !== VERSION) throw new XrelayClientError('malformed', 'unknown envelope version');
  const kindLen = plain[1]!;
  if (plain.length < HEADER_BYTES + kindLen) throw new XrelayClientError('malformed', 'truncated envelope');
  const bodyLen = new DataView(plain.buffer, plain.byteOffset).getUint32(2 + kindLen);
  if (HEADER_BYTES + kindLen + bodyLen > plain.length) throw new XrelayClientError('malformed', 'body length past the end');
  const kind = new TextDecoder().decode(plain.subarray(2, 2 + kindLen));
  const start = HEADER_BYTES + kindLen;
  return { kind, body: plain.slice(start, start + bodyLen) };
}
