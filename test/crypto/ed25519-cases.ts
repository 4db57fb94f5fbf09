/**
 * Ed25519 edge cases as fixtures, shared by the unit test and the reader-WebSocket test.
 *
 * Small-order points: the eight points of the 8-torsion subgroup of edwards25519 and the
 * non-canonical encodings (y >= p) of some of them, as listed in the literature (the small-order
 * blacklist of libsodium's `ge25519_has_small_order`; Chalkias, Garillot, Nikolaenko, "Taming the
 * many EdDSAs", 2020, table 6). Written out here from their definitions: order 1 is (0, 1), order 2
 * is (0, -1), the two of order 4 are (+-sqrt(-1), 0), and the four of order 8 have
 * y = 0x26e8...05 or its negation, each with both signs of x. The unit test checks each against
 * libsodium's `crypto_sign_ed25519_pk_to_curve25519` (which refuses small-order and
 * off-subgroup points), so a typo here cannot pass silently.
 */

const P = 2n ** 255n - 19n;
export const L = 2n ** 252n + 27742317777372353535851937790883648493n;

/** 32-byte little-endian encoding of y with the sign bit of x (RFC 8032 section 5.1.2). */
export function encodeY(y: bigint, signBit = 0): Buffer {
  const out = Buffer.alloc(32);
  let v = y;
  for (let i = 0; i < 32; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  if (signBit) out[31]! |= 0x80;
  return out;
}

export function yOf(encoded: Uint8Array): bigint {
  let n = 0n;
  for (let i = 31; i >= 0; i--) n = (n << 8n) | BigInt(encoded[i]!);
  return n & ((1n << 255n) - 1n);
}

const Y_ORDER_8 = BigInt('0x05fc536d880238b13933c6d305acdfd5f098eff289f4c345b027b2c28f95e826');

export interface KeyCase {
  name: string;
  key: Buffer;
  /** What the relay must answer. */
  verdict: 'non_canonical' | 'off_curve' | 'small_order';
}

export const SMALL_ORDER_CASES: KeyCase[] = [
  { name: 'identity (order 1)', key: encodeY(1n), verdict: 'small_order' },
  { name: 'order 2: (0, -1)', key: encodeY(P - 1n), verdict: 'small_order' },
  { name: 'order 4: y = 0, x even', key: encodeY(0n), verdict: 'small_order' },
  { name: 'order 4: y = 0, x odd', key: encodeY(0n, 1), verdict: 'small_order' },
  { name: 'order 8: y = Y8, x even', key: encodeY(Y_ORDER_8), verdict: 'small_order' },
  { name: 'order 8: y = Y8, x odd', key: encodeY(Y_ORDER_8, 1), verdict: 'small_order' },
  { name: 'order 8: y = -Y8, x even', key: encodeY(P - Y_ORDER_8), verdict: 'small_order' },
  { name: 'order 8: y = -Y8, x odd', key: encodeY(P - Y_ORDER_8, 1), verdict: 'small_order' },
];

export const NON_CANONICAL_CASES: KeyCase[] = [
  // x = 0 with the sign bit set: RFC 8032 section 5.1.3 step 4 refuses the encoding.
  { name: 'identity with the sign bit set', key: encodeY(1n, 1), verdict: 'off_curve' },
  { name: 'order 2 with the sign bit set', key: encodeY(P - 1n, 1), verdict: 'off_curve' },
  { name: 'y = p (non-canonical 0, order 4)', key: encodeY(P), verdict: 'non_canonical' },
  { name: 'y = p, sign bit set', key: encodeY(P, 1), verdict: 'non_canonical' },
  { name: 'y = p + 1 (non-canonical identity)', key: encodeY(P + 1n), verdict: 'non_canonical' },
  { name: 'y = p + 1, sign bit set', key: encodeY(P + 1n, 1), verdict: 'non_canonical' },
  { name: 'y = p + 3 (non-canonical encoding of a point of large order)', key: encodeY(P + 3n), verdict: 'non_canonical' },
  { name: 'y = 2^255 - 1 (all ones)', key: encodeY((1n << 255n) - 1n, 1), verdict: 'non_canonical' },
];

export const OFF_CURVE_CASES: KeyCase[] = [
  { name: 'y = 2 (no x satisfies the curve equation)', key: encodeY(2n), verdict: 'off_curve' },
  { name: 'y = 7, sign bit set', key: encodeY(7n, 1), verdict: 'off_curve' },
];

/** Every encoding of a torsion point, canonical or not: the R values a forger tries. */
export const TORSION_ENCODINGS: Buffer[] = [...SMALL_ORDER_CASES.map((c) => c.key), encodeY(P), encodeY(P + 1n)];

/**
 * The key of A + T2 for an honest key A = (x, y), where T2 = (0, -1) is the point of order 2:
 * (x, y) + (0, -1) = (-x, -y) on edwards25519 (a = -1), so y becomes p - y and the sign bit flips.
 */
export function addOrderTwo(publicKey: Uint8Array): Buffer {
  const y = yOf(publicKey);
  return encodeY(P - y, (publicKey[31]! >> 7) ^ 1);
}

/** A signature with S replaced by S + L: same value mod L, non-canonical encoding. */
export function withSPlusL(signature: Uint8Array): Buffer {
  const s = yOf(signature.subarray(32)); // S < L < 2^253: the masked top bit is 0
  const out = Buffer.from(signature);
  encodeY(s + L).copy(out, 32);
  return out;
}
