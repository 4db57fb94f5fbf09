/**
 * base64url without padding (RFC 4648 §5), on Uint8Array: the same bytes in Node and browsers
 * (no Buffer, no atob). Decoding is strict: only the URL-safe alphabet, no padding, no whitespace,
 * and the unused low bits of the last character must be zero (RFC 4648 §3.5), so every byte string
 * has exactly one accepted text form. Pure: imports nothing.
 */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const VALUES = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) VALUES[ALPHABET.charCodeAt(i)] = i;

export function encodeBase64url(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += ALPHABET[n >>> 18]! + ALPHABET[(n >>> 12) & 63]! + ALPHABET[(n >>> 6) & 63]! + ALPHABET[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]!;
    out += ALPHABET[n >>> 2]! + ALPHABET[(n & 3) << 4]!;
  } else if (rest === 2) {
    const n = (bytes[i]! << 8) | bytes[i + 1]!;
    out += ALPHABET[n >>> 10]! + ALPHABET[(n >>> 4) & 63]! + ALPHABET[(n & 15) << 2]!;
  }
  return out;
}

/** Strict decode of any length; undefined on any character, length or trailing-bit violation. */
export function decodeBase64url(text: string): Uint8Array | undefined {
  const len = text.length;
  if (len % 4 === 1) return undefined;
  const out = new Uint8Array(Math.floor((len * 3) / 4));
  let o = 0;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < len; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? VALUES[c]! : -1;
    if (v < 0) return undefined;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >>> bits) & 0xff;
    }
  }
  if ((acc & ((1 << bits) - 1)) !== 0) return undefined; // non-canonical: leftover bits set
  return out;
}
