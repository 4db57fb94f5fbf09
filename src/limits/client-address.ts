/**
 * The client address that rate limits are keyed by (held in memory only, never logged or stored).
 *
 * Directly connected clients are keyed by the socket's peer address. Behind a reverse proxy every
 * client would share the proxy's address, and one bucket; `trustProxy` names the proxies (IP or CIDR)
 * whose `X-Forwarded-For` is believed. The header is read right to left, skipping trusted hops: the
 * first address not in the list is the client. Entries a client wrote itself sit further left and
 * are never reached, so a client cannot pick its own bucket.
 */
import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';

export type ClientAddressOf = (req: IncomingMessage) => string;

/** Parses `ip` or `ip/prefix`; undefined when it is neither. */
export function parseSubnet(text: string): { ip: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const [ip = '', prefixText, extra] = text.split('/');
  const v = isIP(ip);
  if (v === 0 || extra !== undefined || (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText))) return undefined;
  const bits = v === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  return prefix > bits ? undefined : { ip, prefix, family: v === 4 ? 'ipv4' : 'ipv6' };
}

/** `::ffff:192.0.2.1` (an IPv4 client on a dual-stack socket) is 192.0.2.1. */
function unmapped(ip: string): string {
  return ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
}

/**
 * The bucket a client address is rate-limited in: IPv4 addresses alone, IPv6 addresses by their /64
 * (one subscriber usually holds a whole /64, and would otherwise get 2^64 buckets).
 */
export function rateLimitKey(address: string): string {
  if (isIP(address) !== 6) return address;
  const [head = '', tail] = address.split('::') as [string, string | undefined];
  const groups = (s: string): string[] => (s === '' ? [] : s.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])));
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const all = tail === undefined ? h : [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  return `${all.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`;
}

/** A membership test for a list of IPs and CIDRs (IPv4-mapped IPv6 addresses count as IPv4). */
export function addressMatcher(list: readonly string[]): (ip: string) => boolean {
  const set = new BlockList();
  for (const entry of list) {
    const s = parseSubnet(entry);
    if (s === undefined) throw new TypeError(`not an IP address or CIDR: ${entry}`);
    set.addSubnet(s.ip, s.prefix, s.family);
  }
  return (ip) => {
    const a = unmapped(ip);
    const v = isIP(a);
    return v !== 0 && set.check(a, v === 4 ? 'ipv4' : 'ipv6');
  };
}

/** The rate-limit bucket of a request: its client address (through `resolve`, else the socket peer) by rateLimitKey. */
export function rateLimitKeyOf(resolve: ClientAddressOf | undefined): ClientAddressOf {
  const address = resolve ?? clientAddressResolver([]);
  return (req) => rateLimitKey(address(req));
}

export function clientAddressResolver(trustProxy: readonly string[]): ClientAddressOf {
  const peer = (req: IncomingMessage): string => unmapped(req.socket.remoteAddress ?? 'unknown');
  if (trustProxy.length === 0) return peer;
  const isTrusted = addressMatcher(trustProxy);
  return (req) => {
    let hop = peer(req);
    if (!isTrusted(hop)) return hop;
    const header = req.headers['x-forwarded-for'];
    const chain = (Array.isArray(header) ? header.join(',') : header ?? '').split(',');
    for (let i = chain.length - 1; i >= 0; i--) {
      const candidate = unmapped(chain[i]!.trim());
      if (isIP(candidate) === 0) return hop; // garbage: stop at the last address we can vouch for
      hop = candidate;
      if (!isTrusted(hop)) return hop;
    }
    return hop;
  };
}
