/** RFC 8656 section 14.1: CHANNEL-NUMBER, a 16-bit channel number and 16 reserved bits. */
import { CHANNEL_MAX, CHANNEL_MIN } from './constants.js';

/** The channel number when in CHANNEL_MIN..CHANNEL_MAX, else 0. */
export function decodeChannelNumber(value: Uint8Array): number {
  if (value.length !== 4) return 0;
  const ch = (value[0]! << 8) | value[1]!;
  return ch >= CHANNEL_MIN && ch <= CHANNEL_MAX ? ch : 0;
}
