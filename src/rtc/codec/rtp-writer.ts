/**
 * The RTP header the edge writes on a forwarded packet, from a per-slot template: the constant
 * parts (SSRC, the extension block's layout, the MID) are laid out once, a packet writes its
 * fixed-header fields and the 3 abs-send-time bytes into the caller's buffer. No allocation.
 *
 * - Fixed header: RFC 3550 §5.1 (V=2, P, X, CC=0, M, PT, sequence number, timestamp, SSRC).
 * - Extension block: RFC 3550 §5.3.1 with the one-byte form of RFC 8285 §4.2 (profile 0xBEDE,
 *   elements `ID << 4 | (length - 1)` then the data, in ascending ID order, zero-padded to 32 bits).
 * - MID: RFC 8843 §15 (urn:ietf:params:rtp-hdrext:sdes:mid), the slot's mid as ASCII, 1..16 bytes.
 * - abs-send-time (http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time): 24 bits, the NTP
 *   send time in 6.18 fixed-point seconds (the low 6 bits of the NTP seconds, 18 bits of fraction).
 */

/** The extension elements of one slot's packets; an id of 0 leaves that element out. */
export interface RtpExtensionLayout {
  readonly midId: number;
  readonly mid: string;
  readonly absSendTimeId: number;
}

export interface RtpHeaderTemplate {
  /** The header, SSRC and extension block filled in; the per-packet fields are written by writeRtpHeader. */
  readonly bytes: Uint8Array;
  /** Offset of the 3 abs-send-time bytes, -1 when the slot has no such element. */
  readonly absOffset: number;
}

const ONE_BYTE_PROFILE = 0xbede;

/**
 * The template for a slot sending as `ssrc`; undefined when the layout does not fit the one-byte
 * form (an id outside 1..14 or a MID outside 1..16 bytes): such a slot keeps werift's own path.
 */
export function rtpHeaderTemplate(ssrc: number, ext: RtpExtensionLayout): RtpHeaderTemplate | undefined {
  const mid = ext.midId === 0 ? undefined : Buffer.from(ext.mid, 'ascii');
  const elements: { id: number; data: Uint8Array }[] = [];
  if (mid !== undefined) elements.push({ id: ext.midId, data: mid });
  if (ext.absSendTimeId !== 0) elements.push({ id: ext.absSendTimeId, data: new Uint8Array(3) });
  for (const e of elements) if (e.id < 1 || e.id > 14 || e.data.length < 1 || e.data.length > 16) return undefined;
  if (elements.length === 2 && elements[0]!.id === elements[1]!.id) return undefined;
  elements.sort((a, b) => a.id - b.id);
  const extBytes = elements.reduce((n, e) => n + 1 + e.data.length, 0);
  const extWords = Math.ceil(extBytes / 4);
  const bytes = Buffer.alloc(12 + (elements.length > 0 ? 4 + extWords * 4 : 0));
  bytes[0] = elements.length > 0 ? 0x90 : 0x80; // V=2, X when there is a block
  bytes.writeUInt32BE(ssrc >>> 0, 8);
  let absOffset = -1;
  if (elements.length > 0) {
    bytes.writeUInt16BE(ONE_BYTE_PROFILE, 12);
    bytes.writeUInt16BE(extWords, 14);
    let o = 16;
    for (const e of elements) {
      bytes[o++] = (e.id << 4) | (e.data.length - 1);
      if (e.id === ext.absSendTimeId) absOffset = o;
      bytes.set(e.data, o);
      o += e.data.length;
    }
  }
  return { bytes, absOffset };
}

/**
 * Writes one packet's header at `out[0..]` from `tpl`: `pad` sets the P bit (the padding itself
 * travels at the end of the payload), `absSendTime` is the 24-bit value (absSendTime24).
 * Returns the header's length.
 */
export function writeRtpHeader(out: Uint8Array, tpl: RtpHeaderTemplate, marker: boolean, payloadType: number, seq: number, ts: number, pad: boolean, absSendTime: number): number {
  const b = tpl.bytes;
  out.set(b, 0);
  out[0] = pad ? b[0]! | 0x20 : b[0]!;
  out[1] = (marker ? 0x80 : 0) | (payloadType & 0x7f);
  out[2] = (seq >>> 8) & 0xff;
  out[3] = seq & 0xff;
  out[4] = ts >>> 24;
  out[5] = (ts >>> 16) & 0xff;
  out[6] = (ts >>> 8) & 0xff;
  out[7] = ts & 0xff;
  const a = tpl.absOffset;
  if (a >= 0) {
    out[a] = (absSendTime >>> 16) & 0xff;
    out[a + 1] = (absSendTime >>> 8) & 0xff;
    out[a + 2] = absSendTime & 0xff;
  }
  return b.length;
}

/** abs-send-time of a wall-clock instant in Unix ms: NTP seconds × 2^18, low 24 bits (the NTP epoch offset, 2 208 988 800 s, is a multiple of 64). */
export function absSendTime24(unixMs: number): number {
  return Math.floor(unixMs * 262.144) % 0x100_0000;
}

/** The 64-bit NTP timestamp (RFC 3550 §4: seconds since 1900 . 2^32 fraction) of a wall-clock instant in Unix ms. */
export function ntpTimestamp64(unixMs: number): bigint {
  const s = Math.floor(unixMs / 1000);
  const frac = Math.floor(((unixMs - s * 1000) / 1000) * 0x1_0000_0000);
  return (BigInt(s + 2_208_988_800) << 32n) | BigInt(Math.min(frac, 0xffff_ffff));
}
