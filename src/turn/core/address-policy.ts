/**
 * Peer-address policy (RFC 8656 section 21.3, "Server Resource Exhaustion", and the TURN security
 * practice of refusing internal targets): a peer in loopback, private, link-local, CGNAT, multicast,
 * reserved or cloud-metadata ranges is refused (403) unless an allow list names it.
 */
import { parseIp } from '../codec/ip.js';

interface Cidr {
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

/** Refused by default. IPv4-mapped IPv6 peers are checked as IPv4. */
export const DEFAULT_DENIED_CIDRS: readonly string[] = [
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
  '64:ff9b:1::/48', // local-use NAT64
  'fc00::/7', // unique local, includes fd00:ec2::254 (metadata)
  'fe80::/10', // link-local
  'ff00::/8', // multicast
];

export function parseCidr(text: string): Cidr | null {
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

export class AddressPolicy {
  private readonly allow: Cidr[];
  private readonly deny: Cidr[];
  private readonly scratch = new Uint8Array(16);

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
    let n: number = parseIp(ip, this.scratch);
    if (n === 0) return false;
    let b = this.scratch;
    if (n === 16 && b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) {
      b = b.subarray(12);
      n = 4;
    }
    for (const c of this.allow) if (matches(c, b, n)) return true;
    for (const c of this.deny) if (matches(c, b, n)) return false;
    return true;
  }
}
