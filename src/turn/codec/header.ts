/**
 * RFC 8489 section 5: the 20-byte STUN header (type, length, magic cookie, transaction id) and the
 * message type's interleaving of method and class bits; RFC 7983 section 7: first-byte demultiplexing
 * of STUN and ChannelData (RFC 8656 section 12.4).
 */
import { HEADER_LENGTH, MAGIC_COOKIE } from './constants.js';

/** Message type from a 12-bit method and a 2-bit class (M11..M7 C1 M6..M4 C0 M3..M0). */
export function composeType(method: number, cls: number): number {
  return (method & 0x000f) | ((method & 0x0070) << 1) | ((method & 0x0f80) << 2) | ((cls & 1) << 4) | ((cls & 2) << 7);
}

export function methodOf(type: number): number {
  return (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2);
}

export function classOf(type: number): number {
  return ((type & 0x0010) >> 4) | ((type & 0x0100) >> 7);
}

/** Cheap classifier: two zero bits, a magic cookie, a length multiple of 4 that fits. */
export function isStunMessage(buf: Uint8Array, length = buf.length): boolean {
  if (length < HEADER_LENGTH || (buf[0]! & 0xc0) !== 0) return false;
  const bodyLength = (buf[2]! << 8) | buf[3]!;
  if ((bodyLength & 3) !== 0 || HEADER_LENGTH + bodyLength > length) return false;
  return ((buf[4]! << 24) | (buf[5]! << 16) | (buf[6]! << 8) | buf[7]!) >>> 0 === MAGIC_COOKIE;
}

/** A first byte in 64..127 is TURN ChannelData (channels 0x4000-0x7FFF, see CHANNEL_MAX). */
export function isChannelData(buf: Uint8Array): boolean {
  return buf.length >= 4 && (buf[0]! & 0xc0) === 0x40;
}
