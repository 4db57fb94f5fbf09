/**
 * End-to-end key schedule of a call, derived from the call secret (shared by the participants
 * through envelopes; the relay never sees it). BLAKE2b (libsodium crypto_generichash) throughout:
 *
 *   room id      = BLAKE2b-256(key = "xentrop-relay/room-id/v1",  msg = call secret)
 *   base key     = BLAKE2b-256(key = "xentrop-relay/e2e-base/v1", msg = call secret)
 *   sender key   = BLAKE2b-352(key = base key, msg = "sframe" || epoch u32BE || slot u16BE)
 *                  -> first 32 bytes: AEAD key, last 12 bytes: nonce salt
 *
 * This mirrors RFC 9605 §4.4.2 (per-KID key and salt from a base key) with BLAKE2b in place of
 * HKDF, since libsodium has it everywhere. Keys are per sender (slot) and per roster epoch: a new
 * epoch (someone joined or left) means new keys for every sender. To shut out a member who left,
 * the application hands everyone a fresh call secret through envelopes (CallClient.rekey).
 */
import { XrelayClientError } from '../client-error.js';
import { sodiumOrThrow } from '../crypto-lib.js';

const ROOM_ID_KEY = new TextEncoder().encode('xentrop-relay/room-id/v1');
const BASE_KEY = new TextEncoder().encode('xentrop-relay/e2e-base/v1');
const SENDER_LABEL = new TextEncoder().encode('sframe');

export interface SenderKey {
  readonly key: Uint8Array;
  readonly salt: Uint8Array;
}

/**
 * Shortest call secret accepted. The secret is the only thing naming the room and keying its
 * media: an empty or short one names a room anyone can guess. 16 bytes = 128 bits.
 */
export const MIN_CALL_SECRET_BYTES = 16;

/** Throws `bad_secret` unless `callSecret` is a Uint8Array of at least MIN_CALL_SECRET_BYTES. */
export function checkCallSecret(callSecret: unknown): asserts callSecret is Uint8Array {
  if (!(callSecret instanceof Uint8Array) || callSecret.length < MIN_CALL_SECRET_BYTES) {
    throw new XrelayClientError('bad_secret', `a call secret must be at least ${MIN_CALL_SECRET_BYTES} random bytes`);
  }
}

export function roomIdOf(callSecret: Uint8Array): Uint8Array {
  checkCallSecret(callSecret);
  return sodiumOrThrow().crypto_generichash(32, callSecret, ROOM_ID_KEY);
}

/** KID of RFC 9605 §4.3, as used here: epoch and slot in one integer below 2^48. */
export function kidOf(epoch: number, slot: number): number {
  return epoch * 0x10000 + slot;
}

/** Per-(epoch, slot) keys from one call secret, cached (a few per roster change). */
export class CallKeys {
  private readonly base: Uint8Array;
  private readonly cache = new Map<number, SenderKey>();

  constructor(callSecret: Uint8Array) {
    checkCallSecret(callSecret);
    this.base = sodiumOrThrow().crypto_generichash(32, callSecret, BASE_KEY);
  }

  sender(epoch: number, slot: number): SenderKey {
    const kid = kidOf(epoch, slot);
    let k = this.cache.get(kid);
    if (k === undefined) {
      const msg = new Uint8Array(SENDER_LABEL.length + 6);
      msg.set(SENDER_LABEL);
      const dv = new DataView(msg.buffer);
      dv.setUint32(SENDER_LABEL.length, epoch);
      dv.setUint16(SENDER_LABEL.length + 4, slot);
      const out = sodiumOrThrow().crypto_generichash(44, msg, this.base);
      k = { key: out.subarray(0, 32), salt: out.subarray(32, 44) };
      if (this.cache.size >= 256) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(kid, k);
    }
    return k;
  }
}
