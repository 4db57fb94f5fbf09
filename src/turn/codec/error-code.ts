/**
 * RFC 8489 section 14.8: ERROR-CODE, 21 reserved bits, a 3-bit class (hundreds), an 8-bit number
 * (0-99) and a UTF-8 reason phrase of at most 128 characters.
 */
import { REASON_PHRASES } from './constants.js';

/** Value length for an error code with its reason (unpadded). */
export function errorCodeValueLength(reason: string): number {
  return 4 + Buffer.byteLength(reason, 'utf8');
}

/** The default reason phrase for a code. */
export function reasonFor(code: number): string {
  return REASON_PHRASES[code] ?? '';
}

/** Writes the value at `out[at..]`; returns its length. `code` must be 300..699. */
export function encodeErrorCode(code: number, reason: string, out: Buffer, at: number): number {
  out[at] = 0;
  out[at + 1] = 0;
  out[at + 2] = Math.floor(code / 100) & 0x07;
  out[at + 3] = code % 100;
  return 4 + out.write(reason, at + 4, 'utf8');
}

/** The numeric code of an ERROR-CODE value, or 0 when malformed. */
export function decodeErrorCode(value: Uint8Array): number {
  if (value.length < 4) return 0;
  const cls = value[2]! & 0x07;
  const num = value[3]!;
  if (cls < 3 || cls > 6 || num > 99) return 0;
  return cls * 100 + num;
}
