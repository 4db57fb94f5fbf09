/**
 * BLAKE2b, unkeyed, any output length 1..64 (RFC 7693, sections 2 and 3). node:crypto only offers
 * the fixed 64-byte variant, and BLAKE2b-256 is not a truncation of it (the output length is in the
 * parameter block), so the relay carries this small implementation rather than libsodium, which
 * stays on the client side of the build rule. BigInt arithmetic: it runs once per mailbox
 * authentication, not per packet, so clarity wins over speed here.
 */
const MASK = (1n << 64n) - 1n;

// RFC 7693 section 2.6: the SHA-512 initialisation vector.
const IV = [
  0x6a09e667f3bcc908n, 0xbb67ae8584caa73bn, 0x3c6ef372fe94f82bn, 0xa54ff53a5f1d36f1n,
  0x510e527fade682d1n, 0x9b05688c2b3e6c1fn, 0x1f83d9abfb41bd6bn, 0x5be0cd19137e2179n,
];

// RFC 7693 section 2.7: message word schedule; rounds 10 and 11 reuse rows 0 and 1.
const SIGMA = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
  [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
  [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
  [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
  [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
  [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
  [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
  [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
  [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
  [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
];

const rotr = (x: bigint, n: bigint): bigint => ((x >> n) | (x << (64n - n))) & MASK;

/** RFC 7693 section 3.1: the mixing function G. */
function mix(v: bigint[], a: number, b: number, c: number, d: number, x: bigint, y: bigint): void {
  v[a] = (v[a]! + v[b]! + x) & MASK;
  v[d] = rotr(v[d]! ^ v[a]!, 32n);
  v[c] = (v[c]! + v[d]!) & MASK;
  v[b] = rotr(v[b]! ^ v[c]!, 24n);
  v[a] = (v[a]! + v[b]! + y) & MASK;
  v[d] = rotr(v[d]! ^ v[a]!, 16n);
  v[c] = (v[c]! + v[d]!) & MASK;
  v[b] = rotr(v[b]! ^ v[c]!, 63n);
}

/** RFC 7693 section 3.2: the compression function F over one 128-byte block. */
function compress(h: bigint[], block: DataView, t: bigint, last: boolean): void {
  const m: bigint[] = [];
  for (let i = 0; i < 16; i++) m.push(block.getBigUint64(i * 8, true));
  const v = [...h, ...IV];
  v[12] = v[12]! ^ (t & MASK);
  v[13] = v[13]! ^ (t >> 64n);
  if (last) v[14] = v[14]! ^ MASK;
  for (let r = 0; r < 12; r++) {
    const s = SIGMA[r % 10]!;
    mix(v, 0, 4, 8, 12, m[s[0]!]!, m[s[1]!]!);
    mix(v, 1, 5, 9, 13, m[s[2]!]!, m[s[3]!]!);
    mix(v, 2, 6, 10, 14, m[s[4]!]!, m[s[5]!]!);
    mix(v, 3, 7, 11, 15, m[s[6]!]!, m[s[7]!]!);
    mix(v, 0, 5, 10, 15, m[s[8]!]!, m[s[9]!]!);
    mix(v, 1, 6, 11, 12, m[s[10]!]!, m[s[11]!]!);
    mix(v, 2, 7, 8, 13, m[s[12]!]!, m[s[13]!]!);
    mix(v, 3, 4, 9, 14, m[s[14]!]!, m[s[15]!]!);
  }
  for (let i = 0; i < 8; i++) h[i] = h[i]! ^ v[i]! ^ v[i + 8]!;
}

/** BLAKE2b of `input` with an `outLen`-byte digest (RFC 7693 section 3.3), no key. */
export function blake2b(input: Uint8Array, outLen: number): Uint8Array {
  if (!Number.isInteger(outLen) || outLen < 1 || outLen > 64) throw new RangeError('blake2b output length must be 1..64');
  const h = [...IV];
  h[0] = h[0]! ^ 0x01010000n ^ BigInt(outLen);
  const block = new Uint8Array(128);
  const view = new DataView(block.buffer);
  let offset = 0;
  // Every block but the last is compressed as not-final; the last (possibly empty) is zero-padded.
  while (input.length - offset > 128) {
    block.set(input.subarray(offset, offset + 128));
    offset += 128;
    compress(h, view, BigInt(offset), false);
  }
  block.fill(0);
  block.set(input.subarray(offset));
  compress(h, view, BigInt(input.length), true);
  const out = new Uint8Array(64);
  const outView = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) outView.setBigUint64(i * 8, h[i]!, true);
  return out.slice(0, outLen);
}
