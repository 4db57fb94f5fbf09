// The peer-address policy against every way an IPv6 address can carry an IPv4 (issue 9, item 7):
// each form x each refused IPv4 class and public addresses (documentation ranges only: this test
// evaluates the policy, nothing is sent anywhere). Then a few rows through the core over an IPv6
// relay, answered 403 or success on the wire format.
import { describe, expect, it } from 'vitest';
import { Attr, Method, StunClass } from '../../src/turn/codec/index.js';
import { parseIp } from '../../src/turn/codec/ip.js';
import { AddressPolicy } from '../../src/turn/core/address-policy.js';
import { defaultCoreOptions } from '../../src/turn/server/core-options.js';
import { TurnCore } from '../../src/turn/core/turn-core.js';
import type { ClientRef, TurnIo } from '../../src/turn/core/types.js';
import { randomBytes } from 'node:crypto';
import { parse, request, transportUdp, type Answer, type AttrFn } from './helpers/stun-client.js';

const octets = (v4: string): number[] => v4.split('.').map(Number);
const hex16 = (a: number, b: number): string => ((a << 8) | b).toString(16);
/** The IPv4 as two IPv6 groups, each byte XORed with `xor`. */
const groups = (v4: string, xor = 0): string => {
  const [a, b, c, d] = octets(v4).map((x) => x ^ xor) as [number, number, number, number];
  return `${hex16(a, b)}:${hex16(c, d)}`;
};

const PUBLIC_A = '192.0.2.33';
const PUBLIC_B = '203.0.113.9';

/** The IPv6 forms that carry an IPv4, and whether the form itself is refused whatever it carries. */
const FORMS: Array<{ name: string; make: (v4: string) => string; refusedWhole?: true }> = [
  { name: 'plain IPv4', make: (v4) => v4 },
  { name: 'IPv4-mapped ::ffff:a.b.c.d', make: (v4) => `::ffff:${v4}` },
  { name: 'IPv4-mapped, hex groups', make: (v4) => `::ffff:${groups(v4)}` },
  { name: 'IPv4-translated ::ffff:0:a.b.c.d (RFC 2765)', make: (v4) => `::ffff:0:${v4}` },
  { name: 'NAT64 well-known 64:ff9b::/96 (RFC 6052)', make: (v4) => `64:ff9b::${v4}` },
  { name: 'NAT64 well-known, hex groups', make: (v4) => `64:ff9b::${groups(v4)}` },
  { name: '6to4 2002::/16 (RFC 3056)', make: (v4) => `2002:${groups(v4)}::1` },
  { name: '6to4, a full host part', make: (v4) => `2002:${groups(v4)}:1234:5678:9abc:def0:1` },
  { name: 'Teredo client (RFC 4380, XORed)', make: (v4) => `2001:0:${groups(PUBLIC_A)}:8000:f227:${groups(v4, 0xff)}` },
  { name: 'Teredo server', make: (v4) => `2001:0:${groups(v4)}:0:f227:${groups(PUBLIC_B, 0xff)}` },
  { name: 'IPv4-compatible ::a.b.c.d (deprecated)', make: (v4) => `::${v4}`, refusedWhole: true },
  { name: 'NAT64 local-use 64:ff9b:1::/48 (RFC 8215)', make: (v4) => `64:ff9b:1::${v4}`, refusedWhole: true },
];

const REFUSED_V4: Array<[string, string]> = [
  ['loopback', '127.0.0.1'],
  ['loopback, high', '127.255.0.7'],
  ['private 10/8', '10.1.2.3'],
  ['private 172.16/12', '172.20.0.1'],
  ['private 192.168/16', '192.168.1.1'],
  ['link-local', '169.254.10.20'],
  ['metadata', '169.254.169.254'],
  ['CGNAT', '100.64.0.1'],
  ['"this" network', '0.0.0.0'],
  ['multicast', '224.0.0.251'],
  ['broadcast', '255.255.255.255'],
];
const PUBLIC_V4: Array<[string, string]> = [
  ['TEST-NET-1', '192.0.2.1'],
  ['TEST-NET-2', '198.51.100.7'],
  ['TEST-NET-3', '203.0.113.200'],
];

describe('peer policy: embedded IPv4 forms', () => {
  const policy = new AddressPolicy([]);
  const rows = FORMS.flatMap((form) => [
    ...REFUSED_V4.map(([cls, v4]) => ({ form, cls, v4, allowed: false })),
    ...PUBLIC_V4.map(([cls, v4]) => ({ form, cls, v4, allowed: !form.refusedWhole })),
  ]);

  it.each(rows.map((r) => [r.form.name, r.cls, r.form.make(r.v4), r.allowed] as const))('%s carrying %s: %s allowed=%s', (_form, _cls, ip, allowed) => {
    expect(policy.isAllowed(ip)).toBe(allowed);
  });

  it('the table covers every form with refused and public IPv4s', () => {
    expect(rows.length).toBe(FORMS.length * (REFUSED_V4.length + PUBLIC_V4.length));
    expect(rows.filter((r) => r.allowed).length).toBe((FORMS.length - 2) * PUBLIC_V4.length);
  });

  it('Teredo is refused when either of its two IPv4s is refused', () => {
    expect(policy.isAllowed(`2001:0:${groups(PUBLIC_A)}:0:f227:${groups(PUBLIC_B, 0xff)}`)).toBe(true);
    expect(policy.isAllowed(`2001:0:${groups('10.0.0.1')}:0:f227:${groups(PUBLIC_B, 0xff)}`)).toBe(false);
    expect(policy.isAllowed(`2001:0:${groups(PUBLIC_A)}:0:f227:${groups('127.0.0.1', 0xff)}`)).toBe(false);
    // Not XORed, the client part would read as 128.255.255.254 (public): the XOR is what makes it loopback.
    expect(policy.isAllowed(`2001:0:${groups(PUBLIC_A)}:0:f227:${groups('127.0.0.1')}`)).toBe(true);
  });

  it('outside the embedding prefixes nothing is read as IPv4 (2001:db8::/32, 2003::/16, 64:ff9b:0:1::/64)', () => {
    for (const ip of [`2001:db8::${groups('127.0.0.1')}`, `2003:${groups('127.0.0.1')}::1`, `64:ff9b:0:1::${groups('10.0.0.1')}`]) {
      expect(policy.isAllowed(ip), ip).toBe(true);
    }
  });

  it('the allow list applies to an embedded IPv4 as to the IPv4 itself; peerDenyList covers a network-specific NAT64 prefix', () => {
    const open = new AddressPolicy(['127.0.0.1/32'], ['2001:db8:64::/96']);
    expect(open.isAllowed('64:ff9b::127.0.0.1')).toBe(true);
    expect(open.isAllowed('::ffff:127.0.0.1')).toBe(true);
    expect(open.isAllowed('64:ff9b::127.0.0.2')).toBe(false);
    expect(open.isAllowed('2001:db8:64::c000:221')).toBe(false);
    // An IPv6 allow entry opens that address even though what it carries is refused.
    expect(new AddressPolicy(['64:ff9b::a00:1/128']).isAllowed('64:ff9b::10.0.0.1')).toBe(true);
  });
});

/**
 * XOR-PEER-ADDRESS of family IPv6 written from the 16 bytes as they are (RFC 8489 section 14.2):
 * the test writer would send `::ffff:a.b.c.d` as IPv4, a client need not.
 */
const peer6 = (ip: string, port: number, tid: Buffer): AttrFn => (w) => {
  const addr = new Uint8Array(16);
  expect(parseIp(ip, addr)).toBe(16);
  const mask = Buffer.concat([Buffer.from([0x21, 0x12, 0xa4, 0x42]), tid]);
  const v = Buffer.alloc(20);
  v[1] = 0x02;
  v.writeUInt16BE(port ^ 0x2112, 2);
  for (let i = 0; i < 16; i++) v[4 + i] = addr[i]! ^ mask[i]!;
  w.bytes(Attr.xorPeerAddress, v);
};

describe('peer policy through the core (IPv6 relay)', () => {
  it('CreatePermission: 403 for refused embedded IPv4s, success for public ones', () => {
    const sent: Buffer[] = [];
    const io: TurnIo = {
      sendToClient: (_c: ClientRef, data: Buffer) => void sent.push(data),
      sendToPeer() {},
      openRelay: (alloc) => core.relayOpened(alloc, 50000, 0),
      closeRelay() {},
    };
    const core = new TurnCore(defaultCoreOptions({ staticUsers: ['alice:secret1'], relayFamily: 6, externalIp: '2001:db8::1' }), io);
    const send = (buf: Buffer): Answer => {
      core.handleUdp('2001:db8::5', 40000, buf, 0);
      return parse(sent.at(-1)!);
    };
    const family6 = (w: Parameters<Parameters<typeof request>[1][number]>[0]): void => void w.byteThenReserved(Attr.requestedAddressFamily, 2);
    const challenge = send(request(Method.allocate, [transportUdp, family6]));
    const creds = { username: 'alice', password: 'secret1', realm: challenge.realm!, nonce: challenge.nonce! };
    expect(send(request(Method.allocate, [transportUdp, family6], creds)).cls).toBe(StunClass.success);
    const permit = (ip: string): number => {
      const tid = randomBytes(12);
      return send(request(Method.createPermission, [peer6(ip, 1, tid)], creds, { tid })).code;
    };
    for (const form of FORMS.slice(1)) {
      for (const [, v4] of [REFUSED_V4[0]!, REFUSED_V4[6]!]) expect(permit(form.make(v4)), form.make(v4)).toBe(403);
      const pub = form.make(PUBLIC_V4[1]![1]);
      expect(permit(pub), pub).toBe(form.refusedWhole ? 403 : 0);
    }
  });
});
