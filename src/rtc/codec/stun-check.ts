/**
 * What the WebRTC edge's one UDP port reads of STUN, to route an ICE connectivity check to its
 * session before any session sees it (server/udp-mux.ts). Reading only: werift answers the checks.
 * Readers take bytes and fill a caller's object; they never throw.
 *
 * - Header: RFC 8489 §5 (first two bits zero, message type with class bits C1 C0 and the method,
 *   length in bytes after the 20-byte header, a multiple of 4, magic cookie 0x2112A442, 96-bit
 *   transaction id). Class and method bits: RFC 8489 §5, figure 3. Binding is method 0x001 (§18.2).
 * - Attributes: RFC 8489 §14 (type, length, value padded to 4 bytes). USERNAME §14.3 (at most 513
 *   bytes); MESSAGE-INTEGRITY §14.5 (HMAC-SHA1, 20 bytes, over the message up to the attribute with
 *   the header length counting up to its end; attributes after it other than FINGERPRINT are
 *   ignored); FINGERPRINT §14.7 (CRC-32 of the message up to it XOR 0x5354554E; always last).
 * - ICE: the USERNAME of a check is `<receiver's ufrag>:<sender's ufrag>` (RFC 8445 §7.2.2), the
 *   key of its MESSAGE-INTEGRITY the receiver's password (short-term credential, RFC 8489 §9.1.1;
 *   ICE passwords are ASCII ice-chars, RFC 8839 §5.4, so OpaqueString leaves them as they are).
 * - Telling STUN from DTLS and SRTP on one port by the first byte: RFC 7983 §7 (0..3 is STUN).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { crc32 } from 'node:zlib';

export const STUN_HEADER = 20;
const MAGIC_COOKIE = 0x2112a442;
const FINGERPRINT_XOR = 0x5354554e;
const ATTR_USERNAME = 0x0006;
const ATTR_MESSAGE_INTEGRITY = 0x0008;
const ATTR_FINGERPRINT = 0x8028;
const MAX_USERNAME = 513;
/** The length field as MESSAGE-INTEGRITY sees it (filled and read synchronously). */
const LENGTH = Buffer.alloc(2);

export const STUN_REQUEST = 0;
export const STUN_INDICATION = 1;
export const STUN_SUCCESS = 2;
export const STUN_ERROR = 3;
export const STUN_BINDING = 0x001;

export interface StunFields {
  /** STUN_REQUEST, STUN_INDICATION, STUN_SUCCESS or STUN_ERROR. */
  cls: number;
  method: number;
  /** Offset and length of the USERNAME value; usernameAt is -1 when there is none. */
  usernameAt: number;
  usernameLength: number;
  /** Offset of the MESSAGE-INTEGRITY attribute's TLV header, -1 when there is none. */
  integrityAt: number;
  /** Offset of the FINGERPRINT attribute's TLV header, -1 when there is none. */
  fingerprintAt: number;
}

export function stunFields(): StunFields {
  return { cls: 0, method: 0, usernameAt: -1, usernameLength: 0, integrityAt: -1, fingerprintAt: -1 };
}

/**
 * Reads a STUN message's header and the attributes ICE routing needs into `out`; false when the
 * datagram is not a well-formed STUN message (bad header, cookie or length, an attribute running
 * past the end, a USERNAME too long, a MESSAGE-INTEGRITY not 20 bytes, a FINGERPRINT not 4 bytes
 * or not last).
 */
export function readStun(b: Uint8Array, out: StunFields): boolean {
  const n = b.length;
  if (n < STUN_HEADER || (b[0]! & 0xc0) !== 0) return false;
  const length = (b[2]! << 8) | b[3]!;
  if (length !== n - STUN_HEADER || (length & 3) !== 0) return false;
  if (((b[4]! << 24) | (b[5]! << 16) | (b[6]! << 8) | b[7]!) >>> 0 !== MAGIC_COOKIE) return false;
  const type = (b[0]! << 8) | b[1]!;
  out.cls = ((type >> 7) & 2) | ((type >> 4) & 1);
  out.method = (type & 0x000f) | ((type >> 1) & 0x0070) | ((type >> 2) & 0x0f80);
  out.usernameAt = -1;
  out.usernameLength = 0;
  out.integrityAt = -1;
  out.fingerprintAt = -1;
  let at = STUN_HEADER;
  while (at < n) {
    if (out.fingerprintAt >= 0 || at + 4 > n) return false; // FINGERPRINT is last; a TLV header cut short
    const attr = (b[at]! << 8) | b[at + 1]!;
    const len = (b[at + 2]! << 8) | b[at + 3]!;
    const end = at + 4 + len;
    if (end > n) return false;
    if (attr === ATTR_FINGERPRINT) {
      if (len !== 4) return false;
      out.fingerprintAt = at;
    } else if (out.integrityAt < 0) {
      // Attributes after MESSAGE-INTEGRITY (other than FINGERPRINT) are ignored (§14.5).
      if (attr === ATTR_USERNAME) {
        if (len > MAX_USERNAME || out.usernameAt >= 0) return false;
        out.usernameAt = at + 4;
        out.usernameLength = len;
      } else if (attr === ATTR_MESSAGE_INTEGRITY) {
        if (len !== 20) return false;
        out.integrityAt = at;
      }
    }
    at = end + ((4 - (len & 3)) & 3);
  }
  return at === n;
}

/**
 * The ufrag a check names as its receiver's: the USERNAME's part before the first `:` (RFC 8445
 * §7.2.2), as latin1 text; undefined when there is no USERNAME or no `:` in it.
 */
export function localUfrag(b: Buffer, f: StunFields): string | undefined {
  if (f.usernameAt < 0) return undefined;
  const end = f.usernameAt + f.usernameLength;
  for (let i = f.usernameAt; i < end; i++) if (b[i] === 0x3a) return i === f.usernameAt ? undefined : b.toString('latin1', f.usernameAt, i);
  return undefined;
}

/**
 * True when the message's MESSAGE-INTEGRITY (at `f.integrityAt`) verifies with `key` (RFC 8489
 * §14.5: HMAC-SHA1 over the bytes before the attribute, the header's length field set as if the
 * message ended right after it). The bytes are not modified.
 */
export function verifyStunIntegrity(b: Buffer, f: StunFields, key: Uint8Array): boolean {
  const at = f.integrityAt;
  if (at < STUN_HEADER || at + 24 > b.length) return false;
  LENGTH.writeUInt16BE(at + 24 - STUN_HEADER, 0);
  const mac = createHmac('sha1', key).update(b.subarray(0, 2)).update(LENGTH).update(b.subarray(4, at)).digest();
  return timingSafeEqual(mac, b.subarray(at + 4, at + 24));
}

/** True when there is no FINGERPRINT or it matches (RFC 8489 §14.7: it is last, so the header's length already counts it). */
export function fingerprintMatches(b: Buffer, f: StunFields): boolean {
  const at = f.fingerprintAt;
  if (at < 0) return true;
  return ((crc32(b.subarray(0, at)) ^ FINGERPRINT_XOR) >>> 0) === b.readUInt32BE(at + 4);
}
