/**
 * The RTP and RTCP header fields the WebRTC edge reads, and the first-byte demultiplexing a
 * single-port edge needs. Readers return a code and fill a caller's object: no throw, no allocation.
 *
 * - RTP fixed header: RFC 3550 §5.1 (V=2, P, X, CC, M, PT, sequence number, timestamp, SSRC, CSRC
 *   list); header extension block: RFC 3550 §5.3.1, one-byte and two-byte forms RFC 8285 §4.2, §4.3.
 * - RTCP common header: RFC 3550 §6.4.1 (V=2, P, count/FMT, PT, length in 32-bit words minus one);
 *   feedback messages: RFC 4585 §6.1 (PT 205 RTPFB, 206 PSFB; FMT 1 = NACK / PLI),
 *   RFC 5104 §4.3.1 (PSFB FMT 4 = FIR), RTP/RTCP on one port: RFC 5761 §4 (PT 192..223 is RTCP).
 * - Demultiplexing STUN, DTLS and SRTP on one port: RFC 7983 §7 (first byte 0..3 STUN,
 *   20..63 DTLS, 128..191 RTP/RTCP).
 */

export interface RtpFields {
  payloadType: number;
  marker: boolean;
  sequence: number;
  timestamp: number;
  ssrc: number;
  /** Offset of the payload (after CSRCs and the extension block). */
  payloadOffset: number;
  /** Offset and length of the extension block's elements (0, 0 when there is none). */
  extOffset: number;
  extLength: number;
  /** 0xBEDE (one-byte form) or 0x100x (two-byte form); 0 when absent. */
  extProfile: number;
}

export const RTP_OK = 0;
export const RTP_TOO_SHORT = 1;
export const RTP_BAD_VERSION = 2;
export const RTP_BAD_LENGTH = 3;
export const RTP_IS_RTCP = 4;

/** Reads the fixed header into `out`; RTP_OK or why not (RFC 3550 §5.1, RFC 5761 §4). */
export function readRtpHeader(b: Uint8Array, out: RtpFields): number {
  if (b.length < 12) return RTP_TOO_SHORT;
  if (b[0]! >> 6 !== 2) return RTP_BAD_VERSION;
  const pt = b[1]! & 0x7f;
  if (pt >= 64 && pt <= 95) return RTP_IS_RTCP; // 192..223 with the marker bit: RTCP on a muxed port
  const cc = b[0]! & 0x0f;
  let off = 12 + cc * 4;
  out.extOffset = 0;
  out.extLength = 0;
  out.extProfile = 0;
  if (b[0]! & 0x10) {
    if (b.length < off + 4) return RTP_BAD_LENGTH;
    const words = (b[off + 2]! << 8) | b[off + 3]!;
    out.extProfile = (b[off]! << 8) | b[off + 1]!;
    out.extOffset = off + 4;
    out.extLength = words * 4;
    off += 4 + words * 4;
  }
  if (off > b.length) return RTP_BAD_LENGTH;
  out.payloadType = pt;
  out.marker = (b[1]! & 0x80) !== 0;
  out.sequence = (b[2]! << 8) | b[3]!;
  out.timestamp = ((b[4]! << 24) | (b[5]! << 16) | (b[6]! << 8) | b[7]!) >>> 0;
  out.ssrc = ((b[8]! << 24) | (b[9]! << 16) | (b[10]! << 8) | b[11]!) >>> 0;
  out.payloadOffset = off;
  return RTP_OK;
}

/**
 * The value offset of extension element `id` in the block `readRtpHeader` found, or -1
 * (RFC 8285 §4.2 one-byte: ID 1..14, length-1 in the low nibble, ID 15 stops; §4.3 two-byte:
 * ID and length bytes; padding bytes are 0). `lengthOut[0]` gets the value's length.
 */
export function findExtension(b: Uint8Array, f: RtpFields, id: number, lengthOut: Uint32Array): number {
  const end = f.extOffset + f.extLength;
  let i = f.extOffset;
  const oneByte = f.extProfile === 0xbede;
  const twoByte = (f.extProfile & 0xfff0) === 0x1000;
  if (!oneByte && !twoByte) return -1;
  while (i < end) {
    if (b[i] === 0) {
      i++;
      continue;
    }
    let elId: number;
    let len: number;
    if (oneByte) {
      elId = b[i]! >> 4;
      if (elId === 15) return -1;
      len = (b[i]! & 0x0f) + 1;
      i += 1;
    } else {
      if (i + 1 >= end) return -1;
      elId = b[i]!;
      len = b[i + 1]!;
      i += 2;
    }
    if (i + len > end) return -1;
    if (elId === id) {
      lengthOut[0] = len;
      return i;
    }
    i += len;
  }
  return -1;
}

/** What a datagram on a muxed port is, from its first byte (RFC 7983 §7). */
export type Demux = 'stun' | 'dtls' | 'rtp' | 'other';

export function classifyFirstByte(first: number): Demux {
  if (first <= 3) return 'stun';
  if (first >= 20 && first <= 63) return 'dtls';
  if (first >= 128 && first <= 191) return 'rtp';
  return 'other';
}

/** RTCP feedback that asks the media sender for a key frame: PSFB (206) with FMT 1 (PLI) or 4 (FIR). */
export function isKeyframeRequest(rtcpType: number, fmt: number): 'pli' | 'fir' | undefined {
  if (rtcpType !== 206) return undefined;
  return fmt === 1 ? 'pli' : fmt === 4 ? 'fir' : undefined;
}
