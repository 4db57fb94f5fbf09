/**
 * Mailbox keys (client side, libsodium). One Ed25519 key pair per mailbox: its public key names the
 * mailbox (mailbox id = BLAKE2b-256(public key)) and proves ownership to the relay; the same key,
 * converted to X25519, is what senders seal envelopes to. The secret key never leaves the client.
 */
import { MAILBOX_ID_BYTES } from '../../wire/envelope-protocol.js';
import { sodiumOrThrow } from '../crypto-lib.js';
import { ready } from '../ready.js';

export interface MailboxKeys {
  /** Ed25519 public key (32 bytes): share it with contacts so they can seal to you. */
  readonly publicKey: Uint8Array;
  /** Ed25519 secret key (64 bytes): keep it on the device. */
  readonly secretKey: Uint8Array;
  /** BLAKE2b-256 of publicKey: where others post to you. */
  readonly mailboxId: Uint8Array;
}

export async function generateMailboxKeys(seed?: Uint8Array): Promise<MailboxKeys> {
  await ready();
  const s = sodiumOrThrow();
  const kp = seed === undefined ? s.crypto_sign_keypair() : s.crypto_sign_seed_keypair(seed);
  return { publicKey: kp.publicKey, secretKey: kp.privateKey, mailboxId: mailboxIdOf(kp.publicKey) };
}

/** The mailbox id of an Ed25519 public key. Requires `await ready()` once (`not_ready` otherwise). */
export function mailboxIdOf(publicKey: Uint8Array): Uint8Array {
  return sodiumOrThrow().crypto_generichash(MAILBOX_ID_BYTES, publicKey, null);
}
