/**
 * RFC 8489 section 14.2 (XOR-MAPPED-ADDRESS) and RFC 8656 sections 14.3 and 14.5 (XOR-PEER-ADDRESS,
 * XOR-RELAYED-ADDRESS): family, port XOR the cookie's top 16 bits, address XOR the cookie (IPv4) or
 * the cookie and transaction id (IPv6). Also MAPPED-ADDRESS (section 14.1), unXORed.
 */
import { FAMILY_IPV4, FAMILY_IPV6, MAGIC_COOKIE } from './constants.js';
import { formatIpv4, formatIpv6, parseIp } from './ip.js';

/** A decoded transport address. Reuse one instance on hot paths. */
export class TransportAddress {
  family: 4 | 6 = 4;
  ip = '';
  port = 0;
}

export const AddressResult = { ok: 0, badLength: 1, badFamily: 2 } as const;
export type AddressResultValue = (typeof AddressResult)[keyof typeof AddressResult];

const COOKIE_BYTES = Buffer.from([0x21, 0x12, 0xa4, 0x42]);
const scratch = new Uint8Array(16);

/**
 * Decodes an (XOR-)address attribute value into `out`. `tid` is the 12-byte transaction id; pass
 * `xor = false` for the legacy MAPPED-ADDRESS.
 */
export function decodeAddress(value: Uint8Array, tid: Uint8Array, out: TransportAddress, xor = true): AddressResultValue {
  if (value.length < 4) return AddressResult.badLength;
  const family = value[1];
  const rawPort = (value[2]! << 8) | value[3]!;
  out.port = xor ? rawPort ^ (MAGIC_COOKIE >>> 16) : rawPort;
  if (family === FAMILY_IPV4) {
    if (value.length !== 8) return AddressResult.badLength;
    for (let i = 0; i < 4; i++) scratch[i] = value[4 + i]! ^ (xor ? COOKIE_BYTES[i]! : 0);
    out.family = 4;
    out.ip = formatIpv4(scratch);
    return AddressResult.ok;
  }
  if (family === FAMILY_IPV6) {
    if (value.length !== 20 || tid.length !== 12) return AddressResult.badLength;
    for (let i = 0; i < 16; i++) {
      const mask = !xor ? 0 : i < 4 ? COOKIE_BYTES[i]! : tid[i - 4]!;
      scratch[i] = value[4 + i]! ^ mask;
    }
    out.family = 6;
    out.ip = formatIpv6(scratch);
    return AddressResult.ok;
  }
  return AddressResult.badFamily;
}

/** Address value length for an IP text (8 or 20), or 0 when the text is no IP. */
export function addressValueLength(ip: string): number {
  const n = parseIp(ip, scratch);
  if (n === 16 && isV4Mapped(scratch)) return 8;
  return n === 0 ? 0 : 4 + n;
}

/**
 * Writes an (XOR-)address value at `out[at..]` and returns the bytes written (8 or 20), or 0 when
 * `ip` is not an address. IPv4-mapped IPv6 text (::ffff:a.b.c.d) is written as IPv4.
 */
export function encodeAddress(ip: string, port: number, tid: Uint8Array, out: Uint8Array, at: number, xor = true): number {
  let n = parseIp(ip, scratch);
  if (n === 0) return 0;
  let src = 0;
  if (n === 16 && isV4Mapped(scratch)) {
    n = 4;
    src = 12;
  }
  out[at] = 0;
  out[at + 1] = n === 4 ? FAMILY_IPV4 : FAMILY_IPV6;
  const p = xor ? port ^ (MAGIC_COOKIE >>> 16) : port;
  out[at + 2] = (p >> 8) & 0xff;
  out[at + 3] = p & 0xff;
  for (let i = 0; i < n; i++) {
    const mask = !xor ? 0 : i < 4 ? COOKIE_BYTES[i]! : tid[i - 4]!;
    out[at + 4 + i] = scratch[src + i]! ^ mask;
  }
  return 4 + n;
}

function isV4Mapped(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}
