/**
 * Sender key ids on the WebRTC edge. Cell clients key each sender by the slot the relay assigned
 * (KID = epoch × 65536 + slot, e2e-keys.ts). A WebRTC member has no such slot: the relay maps its
 * uplink to a different receive slot (mid) in each receiver and remaps as the roster changes, so
 * a receiver cannot name a sender from where its frames arrive. Each sending track therefore draws
 * a random 48-bit KID with the top bit set and carries it in the SFrame header (RFC 9605 §4.3):
 *
 *   - the key is the cell clients' schedule, unchanged: CallKeys.sender(epoch, slot) with
 *     (epoch, slot) = (KID >> 16, KID & 0xffff), i.e. BLAKE2b(base, "sframe" || KID as 6 bytes);
 *   - top bit set = epoch ≥ 2^31, a range cell epochs (one per roster change) never reach, so an
 *     RTC key never equals a cell sender's key in a future mixed room;
 *   - 47 random bits per track: two tracks of one call collide with probability n²/2^48 (8 members
 *     with audio and video: ~1e-12); a collision would share a key with counters starting at 0,
 *     i.e. reuse nonces, which is why the KID is random rather than chosen by the relay or derived
 *     from anything the relay controls;
 *   - a new KID per join (and per rekey): a rejoining member never restarts a counter under a key
 *     it used before.
 *
 * Receivers derive the key from the KID of each record (cached), accept any KID the call secret
 * opens, and keep a replay window per KID.
 */
import type { CallKeys, SenderKey } from '../call/e2e-keys.js';

const TOP_BIT = 2 ** 47;

/** A fresh random RTC sender KID in [2^47, 2^48). */
export function randomRtcKid(): number {
  const b = new Uint8Array(6);
  globalThis.crypto.getRandomValues(b);
  const low = (b[2]! * 0x1_000000 + b[3]! * 0x10000 + b[4]! * 0x100 + b[5]!) >>> 0;
  const high = ((b[0]! & 0x7f) << 8) | b[1]!;
  return TOP_BIT + high * 0x1_0000_0000 + low;
}

/** True for KIDs in the RTC range (top bit set). */
export function isRtcKid(kid: number): boolean {
  return kid >= TOP_BIT && kid < 2 ** 48;
}

/** The key of any KID, through the cell clients' schedule. */
export function keyOfKid(keys: CallKeys, kid: number): SenderKey {
  return keys.sender(Math.floor(kid / 0x10000), kid % 0x10000);
}
