/**
 * Peer-address policy (RFC 8656 section 21.3, "Server Resource Exhaustion", and the TURN security
 * practice of refusing internal targets): a peer in loopback, private, link-local, CGNAT, multicast,
 * reserved or cloud-metadata ranges is refused (403) unless an allow list names it.
 *
 * An IPv6 peer that carries an IPv4 address is also judged by that IPv4 (every one it carries, the
 * allow list included), since a packet to it can reach that IPv4 through a translator or tunnel:
 * IPv4-mapped `::ffff:0:0/96` (RFC 4291 section 2.5.5.2), IPv4-translated `::ffff:0:0:0/96`
 * (RFC 2765 section 2.1), NAT64's well-known prefix `64:ff9b::/96` (RFC 6052 section 2.1), 6to4
 * `2002::/16` (RFC 3056 section 2: bits 16-47) and Teredo `2001::/32` (RFC 4380 section 4: the
 * server's IPv4 in bits 32-63, the client's in bits 96-127 XORed with 0xffffffff). IPv4-compatible
 * `::/96` (deprecated, RFC 4291 section 2.5.5.1) and local-use NAT64 `64:ff9b:1::/48` (RFC 8215,
 * where the IPv4's position depends on a prefix length only its operator knows) are refused whole.
 * NAT64 behind an operator's own (network-specific) prefix cannot be recognised: name it in
 * `peerDenyList`.
 */
import { parseIp } from '../codec/ip.js';

interface Cidr {
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

/** Refused by default. IPv6 peers that embed an IPv4 are checked as that IPv4 too (see above). */
const DEFAULT_DENIED_CIDRS: readonly string[] = [
  '0.0.0.0/8', // "this" network
  '10.0.0.0/8', // RFC 1918
  '100.64.0.0/10', // CGNAT (RFC 6598)
  '127.0.0.0/8', // loopback
  '169.254.0.0/16', // link-local, includes the 169.254.169.254 metadata service
  '172.16.0.0/12', // RFC 1918
  '192.0.0.0/24', // IETF protocol assignments
  '192.168.0.0/16', // RFC 1918
  '198.18.0.0/15', // benchmarking
  '224.0.0.0/4', // multicast
  '240.0.0.0/4', // reserved and broadcast
  '::/128', // unspecified
  '::1/128', // loopback
  '::/96', // IPv4-compatible (deprecated, RFC 4291 section 2.5.5.1); includes :: and ::1
  '64:ff9b:1::/48', // local-use NAT64
  'fc00::/7', // unique local, includes fd00:ec2::254 (metadata)
  'fe80::/10', // link-local
  'ff00::/8', // multicast
];

function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf('/');
  const ipText = slash < 0 ? text : text.slice(0, slash);
  const bytes = new Uint8Array(16);
  const n = parseIp(ipText, bytes);
  if (n === 0) return null;
  const prefix = slash < 0 ? n * 8 : Number(text.slice(slash + 1));
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > n * 8) return null;
  return { bytes: bytes.slice(0, n), prefix };
}

function matches(cidr: Cidr, ip: Uint8Array, n: number): boolean {
  if (cidr.bytes.length !== n) return false;
  const full = cidr.prefix >> 3;
  for (let i = 0; i < full; i++) if (cidr.bytes[i] !== ip[i]) return false;
  const rest = cidr.prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (cidr.bytes[full]! & mask) === (ip[full]! & mask);
}

/**
 * Where an IPv6 address (16 bytes) carries an IPv4: writes up to two (offset, xor) pairs to `out`,
 * the IPv4 being bytes offset..offset+3 each XORed with `xor`; returns how many pairs.
 */
function embeddedIpv4(b: Uint8Array, out: Int16Array): number {
  const zeros = (from: number, to: number): boolean => {
    for (let i = from; i < to; i++) if (b[i] !== 0) return false;
    return true;
  };
  const word = (i: number): number => (b[i]! << 8) | b[i + 1]!;
  let n = 0;
  const put = (offset: number, xor: number): void => {
    out[2 * n] = offset;
    out[2 * n + 1] = xor;
    n++;
  };
  if (zeros(0, 10) && word(10) === 0xffff) put(12, 0); // IPv4-mapped
  else if (zeros(0, 8) && word(8) === 0xffff && word(10) === 0) put(12, 0); // IPv4-translated
  else if (word(0) === 0x0064 && word(2) === 0xff9b && zeros(4, 12)) put(12, 0); // NAT64 well-known
  else if (word(0) === 0x2002) put(2, 0); // 6to4
  else if (word(0) === 0x2001 && word(2) === 0) {
    put(4, 0); // Teredo server
    put(12, 0xff); // Teredo client, obfuscated
  }
  return n;
}

export class AddressPolicy {
  private readonly allow: Cidr[];
  private readonly deny: Cidr[];
  private readonly scratch = new Uint8Array(16);
  private readonly v4 = new Uint8Array(4);
  private readonly spots = new Int16Array(4);

  /** Throws a TypeError naming the bad entry (config validation at start). */
  constructor(allowList: readonly string[], extraDeny: readonly string[] = []) {
    const parse = (list: readonly string[]): Cidr[] =>
      list.map((t) => {
        const c = parseCidr(t);
        if (!c) throw new TypeError(`invalid CIDR: ${t}`);
        return c;
      });
    this.allow = parse(allowList);
    this.deny = parse([...DEFAULT_DENIED_CIDRS, ...extraDeny]);
  }

  /** True when relaying to `ip` is permitted. */
  isAllowed(ip: string): boolean {
    const n = parseIp(ip, this.scratch);
    if (n === 0) return false;
    const b = this.scratch;
    if (!this.passes(b, n)) return false;
    if (n === 4 || this.listed(this.allow, b, 16)) return true;
    const spots = embeddedIpv4(b, this.spots);
    for (let k = 0; k < spots; k++) {
      const at = this.spots[2 * k]!;
      const xor = this.spots[2 * k + 1]!;
      for (let i = 0; i < 4; i++) this.v4[i] = b[at + i]! ^ xor;
      if (!this.passes(this.v4, 4)) return false;
    }
    return true;
  }

  /** Allow-listed, or in no refused range. */
  private passes(b: Uint8Array, n: number): boolean {
    return this.listed(this.allow, b, n) || !this.listed(this.deny, b, n);
  }

  private listed(list: readonly Cidr[], b: Uint8Array, n: number): boolean {
    for (const c of list) if (matches(c, b, n)) return true;
    return false;
  }
}
