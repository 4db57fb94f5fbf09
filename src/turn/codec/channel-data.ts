/**
 * RFC 8656 section 12.4: the ChannelData message, a 4-byte header (channel number 0x4000-0x7FFF (see CHANNEL_MAX),
 * data length) and the application data; over TCP padded to a multiple of 4 (section 12.5), over
 * UDP padding is optional and not sent by this server.
 */
import { CHANNEL_MAX, CHANNEL_MIN } from './constants.js';

export const CHANNEL_DATA_HEADER = 4;

/** The channel number of a ChannelData message, or 0 when the header or length is invalid. */
export function channelDataNumber(buf: Uint8Array, length = buf.length): number {
  if (length < CHANNEL_DATA_HEADER) return 0;
  const ch = (buf[0]! << 8) | buf[1]!;
  if (ch < CHANNEL_MIN || ch > CHANNEL_MAX) return 0;
  const dataLength = (buf[2]! << 8) | buf[3]!;
  return CHANNEL_DATA_HEADER + dataLength <= length ? ch : 0;
}

/** The data length field of a ChannelData header (no validation). */
export function channelDataLength(buf: Uint8Array): number {
  return (buf[2]! << 8) | buf[3]!;
}

/** Writes the 4-byte header at `out[at..]`. */
export function writeChannelDataHeader(out: Uint8Array, at: number, channel: number, dataLength: number): void {
  out[at] = channel >> 8;
  out[at + 1] = channel & 0xff;
  out[at + 2] = dataLength >> 8;
  out[at + 3] = dataLength & 0xff;
}

/** A whole ChannelData message; `pad` rounds up to 4 bytes with zeros (TCP). */
export function encodeChannelData(channel: number, data: Uint8Array, pad = false): Buffer {
  const total = CHANNEL_DATA_HEADER + data.length;
  const out = Buffer.allocUnsafe(pad ? (total + 3) & ~3 : total);
  writeChannelDataHeader(out, 0, channel, data.length);
  out.set(data, CHANNEL_DATA_HEADER);
  out.fill(0, total);
  return out;
}
