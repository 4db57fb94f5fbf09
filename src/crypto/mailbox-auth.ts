/**
 * Relay-side mailbox authentication: the mailbox id is BLAKE2b-256 of the owner's Ed25519 public key
 * (byte-equal to libsodium's crypto_generichash with a 32-byte output), and the
 * reader proves possession by signing the challenge (RFC 8032 Ed25519, verified with node:crypto).
 * Keys and signatures pass the strict checks of ed25519-point.ts first: node:crypto alone would
 * accept a small-order key, whose "signature" anyone can make.
 * This module holds no secret: it only hashes and verifies public values.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { blake2b } from './blake2b.js';
import { checkPublicKey, isCanonicalScalar } from './ed25519-point.js';
import { MAILBOX_ID_BYTES, PUBLIC_KEY_BYTES, SIGNATURE_BYTES, authMessage } from '../wire/envelope-protocol.js';

/** DER SubjectPublicKeyInfo header for a raw Ed25519 key (RFC 8410 section 4). */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export function mailboxIdOf(publicKey: Uint8Array): Uint8Array {
  return blake2b(publicKey, MAILBOX_ID_BYTES);
}

function importEd25519(publicKey: Uint8Array): KeyObject | undefined {
  if (publicKey.length !== PUBLIC_KEY_BYTES) return undefined;
  try {
    return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
  } catch {
    return undefined;
  }
}

export type AuthVerdict = 'ok' | 'bad_key' | 'bad_signature';

/**
 * Strict Ed25519 verification. `bad_key`: not 32 bytes, a non-canonical encoding (y >= p), off the
 * curve, of small order, or with a torsion component. `bad_signature`: not 64 bytes, S >= L, or
 * the cofactorless equation of RFC 8032 section 5.1.7 fails. The subgroup check (a BigInt scalar
 * multiplication, about 2 ms) runs only once the signature verifies, so refusing strangers stays cheap.
 */
export function verifyEd25519(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): AuthVerdict {
  const key = importEd25519(publicKey);
  if (key === undefined || checkPublicKey(publicKey, { subgroup: false }) !== 'ok') return 'bad_key';
  if (signature.length !== SIGNATURE_BYTES || !isCanonicalScalar(signature)) return 'bad_signature';
  if (!verify(null, message, key, signature)) return 'bad_signature';
  return checkPublicKey(publicKey) === 'ok' ? 'ok' : 'bad_key';
}

/** Checks that `publicKey` owns `mailbox` and signed this challenge for this mailbox. */
export function verifyMailboxAuth(mailbox: Uint8Array, publicKey: Uint8Array, challenge: Uint8Array, signature: Uint8Array): AuthVerdict {
  if (publicKey.length !== PUBLIC_KEY_BYTES) return 'bad_key';
  if (!Buffer.from(mailboxIdOf(publicKey)).equals(mailbox)) return 'bad_key';
  return verifyEd25519(publicKey, authMessage(challenge, mailbox), signature);
}
