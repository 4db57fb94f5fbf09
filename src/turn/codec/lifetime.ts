/** RFC 8656 section 14.2: LIFETIME, seconds as an unsigned 32-bit integer. */

/** Seconds, or -1 when the value is not 4 bytes. */
export function decodeLifetime(value: Uint8Array): number {
  if (value.length !== 4) return -1;
  return ((value[0]! << 24) | (value[1]! << 16) | (value[2]! << 8) | value[3]!) >>> 0;
}
