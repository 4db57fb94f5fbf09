/**
 * Relay-side mailbox authentication: the mailbox id is BLAKE2b-256 of the owner's Ed25519 public key
 * (byte-equal to libsodium's crypto_generichash with a 32-byte output), and the
 * reader proves possession by signing the challenge (RFC 8032 Ed25519, verified with node:crypto).
 * This module holds no secret: it only hashes and verifies public values.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { blake2b } from './blake2b.js';
import { MAILBOX_ID_BYTES, PUBLIC_KEY_BYTES, SIGNATURE_BYTES, authMessage } from '../envelope/protocol.js';

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

/** Checks that `publicKey` owns `mailbox` and signed this challenge for this mailbox. */
export function verifyMailboxAuth(mailbox: Uint8Array, publicKey: Uint8Array, challenge: Uint8Array, signature: Uint8Array): AuthVerdict {
  const key = importEd25519(publicKey);
  if (key === undefined) return 'bad_key';
  if (!Buffer.from(mailboxIdOf(publicKey)).equals(mailbox)) return 'bad_key';
  if (signature.length !== SIGNATURE_BYTES) return 'bad_signature';
  return verify(null, authMessage(challenge, mailbox), key, signature) ? 'ok' : 'bad_signature';
}
