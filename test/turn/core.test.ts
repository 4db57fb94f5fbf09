// The sans-IO TURN core with injected time: every error code, lifetimes, nonce expiry, quotas,
// policy, and the data path. No sockets, no sleeps.
import { describe, expect, it } from 'vitest';
import { ErrorCodes, Method, StunClass, Attr, encodeChannelData } from '../../src/turn/codec/index.js';
import type { Allocation } from '../../src/turn/core/allocation.js';
import { restPassword } from '../../src/turn/core/credentials.js';
import type { TurnCoreOptions } from '../../src/turn/core/options.js';
import { defaultCoreOptions } from '../../src/turn/server/core-options.js';
import { TurnCore } from '../../src/turn/core/turn-core.js';
import type { ClientRef, TurnIo } from '../../src/turn/core/types.js';
import { channel, lifetime, parse, peer, request, sendIndication, transportUdp, type Answer, type Creds } from './helpers/stun-client.js';

const CLIENT = { ip: '203.0.113.5', port: 40000 };
const PEER = { ip: '198.51.100.7', port: 5000 };
const T0 = 1_700_000_000_000;

class Recorder implements TurnIo {
  toClient: Array<{ client: ClientRef; data: Buffer }> = [];
  toPeer: Array<{ ip: string; port: number; data: Buffer }> = [];
  closed: Allocation[] = [];
  failRelay = false;
  deferRelay = false;
  pending: Allocation[] = [];
  port = 50000;
  core!: TurnCore;
  now = T0;
  sendToClient(client: ClientRef, data: Buffer): void {
    this.toClient.push({ client, data });
  }
  sendToPeer(_a: Allocation, ip: string, port: number, data: Buffer): void {
    this.toPeer.push({ ip, port, data: Buffer.from(data) });
  }
  openRelay(alloc: Allocation): void {
    if (this.deferRelay) this.pending.push(alloc);
    else if (this.failRelay) this.core.relayFailed(alloc);
    else this.core.relayOpened(alloc, this.port++, this.now);
  }
  closeRelay(alloc: Allocation): void {
    this.closed.push(alloc);
  }
  last(): Answer {
    const m = this.toClient.at(-1);
    if (!m) throw new Error('no answer');
    return parse(m.data);
  }
}

function setup(over: Partial<TurnCoreOptions> = {}) {
  const io = new Recorder();
  const core = new TurnCore(defaultCoreOptions({ staticUsers: ['alice:secret1', 'bob:secret2'], authSecret: 'rest-secret', ...over }), io);
  io.core = core;
  const from = CLIENT;
  const send = (buf: Buffer, now = io.now, src = from): Answer | undefined => {
    io.now = now;
    const before = io.toClient.length;
    core.handleUdp(src.ip, src.port, buf, now);
    return io.toClient.length > before ? io.last() : undefined;
  };
  /** Challenge, then an authenticated Allocate; returns the creds with a live nonce. */
  const allocate = (username = 'alice', password = 'secret1', src = from): Creds => {
    const challenge = send(request(Method.allocate, [transportUdp]), io.now, src)!;
    expect(challenge.code).toBe(401);
    const creds = { username, password, realm: challenge.realm!, nonce: challenge.nonce! };
    const ok = send(request(Method.allocate, [transportUdp], creds), io.now, src)!;
    expect([ok.cls, ok.code]).toEqual([StunClass.success, 0]);
    return creds;
  };
  return { io, core, send, allocate };
}

describe('TURN core: authentication', () => {
  it('401 with REALM and NONCE, then success; no state for the unauthenticated request', () => {
    const { io, core, send } = setup();
    const a = send(request(Method.allocate, [transportUdp]))!;
    expect(a.code).toBe(401);
    expect(a.realm).toBe('xentrop-relay');
    expect(a.nonce).toMatch(/^[0-9a-f]+\.[\w-]+$/);
    expect(a.hasIntegrity).toBe(false);
    expect(core.allocationCount()).toBe(0);
    const ok = send(request(Method.allocate, [transportUdp, lifetime(1200)], { username: 'alice', password: 'secret1', realm: a.realm!, nonce: a.nonce! }))!;
    expect(ok.cls).toBe(StunClass.success);
    expect(ok.relayed).toEqual({ ip: '127.0.0.1', port: 50000 });
    expect(ok.mapped).toEqual(CLIENT);
    expect(ok.lifetime).toBe(1200);
    expect(ok.hasIntegrity).toBe(true);
    expect(io.toClient.length).toBe(2);
  });

  it('401 for a wrong password, an unknown user, a wrong realm; 400 without USERNAME', () => {
    const { send } = setup();
    const { nonce, realm } = send(request(Method.allocate, [transportUdp]))!;
    expect(send(request(Method.allocate, [transportUdp], { username: 'alice', password: 'nope', realm: realm!, nonce: nonce! }))!.code).toBe(401);
    expect(send(request(Method.allocate, [transportUdp], { username: 'mallory', password: 'x', realm: realm!, nonce: nonce! }))!.code).toBe(401);
    expect(send(request(Method.allocate, [transportUdp], { username: 'alice', password: 'secret1', realm: 'other', nonce: nonce! }))!.code).toBe(401);
    const noUser = request(Method.allocate, [transportUdp, (w) => w.string(Attr.realm, realm!).string(Attr.nonce, nonce!).integrity(Buffer.alloc(16))]);
    expect(send(noUser)!.code).toBe(400);
  });

  it('438 once the nonce expires (injected time), and for a nonce from another address', () => {
    const { send, io } = setup({ nonceLifetimeMs: 60_000 });
    const { nonce, realm } = send(request(Method.allocate, [transportUdp]))!;
    const creds = { username: 'alice', password: 'secret1', realm: realm!, nonce: nonce! };
    const stale = send(request(Method.allocate, [transportUdp], creds), T0 + 60_000)!;
    expect(stale.code).toBe(438);
    expect(stale.nonce).not.toBe(nonce);
    expect(send(request(Method.allocate, [transportUdp], creds), T0 + 59_999)!.cls).toBe(StunClass.success);
    const other = { ip: '203.0.113.99', port: 1 };
    expect(send(request(Method.allocate, [transportUdp], creds), T0, other)!.code).toBe(438);
    expect(send(request(Method.allocate, [transportUdp], { ...creds, nonce: 'garbage' }), T0, other)!.code).toBe(438);
    void io;
  });

  it('REST credentials: valid until expiry, 401 after; MESSAGE-INTEGRITY-SHA256 accepted', () => {
    const { send } = setup();
    const username = `${Math.floor(T0 / 1000) + 3600}:carol`;
    const { nonce, realm } = send(request(Method.allocate, [transportUdp]))!;
    const creds = { username, password: restPassword('rest-secret', username), realm: realm!, nonce: nonce! };
    const ok = send(request(Method.allocate, [transportUdp], creds, { sha256: true }))!;
    expect(ok.cls).toBe(StunClass.success);
    const expired = `${Math.floor(T0 / 1000) - 1}:carol`;
    const from2 = { ip: '203.0.113.6', port: 1 };
    const n2 = send(request(Method.allocate, [transportUdp]), T0, from2)!;
    expect(send(request(Method.allocate, [transportUdp], { ...creds, nonce: n2.nonce!, username: expired, password: restPassword('rest-secret', expired) }), T0, from2)!.code).toBe(401);
  });

  it('unauthenticated answers are rate-limited per source (no amplification)', () => {
    const { send, core } = setup({ unauthRatePerSec: 1, unauthBurst: 5 });
    let answered = 0;
    for (let i = 0; i < 50; i++) if (send(request(Method.allocate, [transportUdp]))) answered++;
    expect(answered).toBe(5);
    expect(core.stats.dropped.rate_limited).toBe(45);
    expect(send(request(Method.allocate, [transportUdp]), T0 + 1000)).toBeDefined();
    expect(send(request(Method.binding), T0 + 1000, { ip: '203.0.113.200', port: 9 })!.mapped).toEqual({ ip: '203.0.113.200', port: 9 });
  });
});

describe('TURN core: allocation errors', () => {
  it('437 for a second Allocate and for Refresh without an allocation; retransmits get the cached answer', () => {
    const { send, io, allocate } = setup();
    const noAlloc = setup();
    const c0 = noAlloc.send(request(Method.refresh))!;
    expect(noAlloc.send(request(Method.refresh, [], { username: 'alice', password: 'secret1', realm: c0.realm!, nonce: c0.nonce! }))!.code).toBe(437);
    const creds = allocate();
    const first = io.toClient.at(-1)!.data;
    const tid = parse(first).tid;
    const again = send(request(Method.allocate, [transportUdp], creds, { tid }))!;
    expect(io.toClient.at(-1)!.data.equals(first)).toBe(true);
    expect(again.cls).toBe(StunClass.success);
    expect(send(request(Method.allocate, [transportUdp], creds))!.code).toBe(437);
  });

  it('441 when another user speaks for the allocation', () => {
    const { send, allocate } = setup();
    const creds = allocate();
    expect(send(request(Method.refresh, [], { ...creds, username: 'bob', password: 'secret2' }))!.code).toBe(441);
  });

  it('486 past the per-user quota, 508 past the total, 508 when no relay port binds', () => {
    const { send, allocate } = setup({ maxAllocationsPerUser: 2, maxAllocations: 3 });
    allocate('alice', 'secret1', { ip: '203.0.113.1', port: 1 });
    allocate('alice', 'secret1', { ip: '203.0.113.1', port: 2 });
    const src = { ip: '203.0.113.1', port: 3 };
    const c = send(request(Method.allocate, [transportUdp]), T0, src)!;
    const creds = { username: 'alice', password: 'secret1', realm: c.realm!, nonce: c.nonce! };
    expect(send(request(Method.allocate, [transportUdp], creds), T0, src)!.code).toBe(486);
    allocate('bob', 'secret2', { ip: '203.0.113.1', port: 4 });
    expect(send(request(Method.allocate, [transportUdp], { ...creds, username: 'bob', password: 'secret2' }), T0, src)!.code).toBe(508);

    const f = setup();
    f.io.failRelay = true;
    const c2 = f.send(request(Method.allocate, [transportUdp]))!;
    expect(f.send(request(Method.allocate, [transportUdp], { username: 'alice', password: 'secret1', realm: c2.realm!, nonce: c2.nonce! }))!.code).toBe(508);
    expect(f.core.allocationCount()).toBe(0);
  });

  it('400 without REQUESTED-TRANSPORT, 442 for TCP, 440 for IPv6, 420 for DONT-FRAGMENT, 508 for a RESERVATION-TOKEN', () => {
    const { send } = setup();
    const c = send(request(Method.allocate, [transportUdp]))!;
    const creds = { username: 'alice', password: 'secret1', realm: c.realm!, nonce: c.nonce! };
    expect(send(request(Method.allocate, [], creds))!.code).toBe(400);
    expect(send(request(Method.allocate, [(w) => w.byteThenReserved(Attr.requestedTransport, 6)], creds))!.code).toBe(442);
    expect(send(request(Method.allocate, [transportUdp, (w) => w.byteThenReserved(Attr.requestedAddressFamily, 2)], creds))!.code).toBe(440);
    expect(send(request(Method.allocate, [transportUdp, (w) => w.bytes(Attr.dontFragment, Buffer.alloc(0))], creds))!.code).toBe(420);
    expect(send(request(Method.allocate, [transportUdp, (w) => w.bytes(Attr.reservationToken, Buffer.alloc(8))], creds))!.code).toBe(508);
  });
});

describe('TURN core: permissions, channels and the data path', () => {
  it('403 for private, loopback, link-local, CGNAT, multicast and metadata peers by default; allow list opens one', () => {
    const { send, allocate } = setup({ peerAllowList: ['10.1.2.3/32'] });
    const creds = allocate();
    for (const ip of ['127.0.0.1', '10.0.0.1', '192.168.1.1', '172.20.0.1', '169.254.169.254', '100.64.0.1', '224.0.0.1', '0.0.0.0', '255.255.255.255']) {
      expect(send(request(Method.createPermission, [peer(ip, 1)], creds))!.code, ip).toBe(403);
    }
    expect(send(request(Method.channelBind, [channel(0x4000), peer('192.168.0.9', 1)], creds))!.code).toBe(403);
    expect(send(request(Method.createPermission, [peer('10.1.2.3', 1)], creds))!.cls).toBe(StunClass.success);
    expect(send(request(Method.createPermission, [peer('2001:db8::1', 1)], creds))!.code).toBe(443);
    expect(send(request(Method.createPermission, [], creds))!.code).toBe(400);
  });

  it('Send/Data indications, ChannelData both ways, permission 300 s and channel 600 s (injected time)', () => {
    const { io, core, send, allocate } = setup();
    const creds = allocate();
    const alloc = [...core.allocations.values()][0]!;
    send(sendIndication(PEER.ip, PEER.port, Buffer.from('early')));
    expect(io.toPeer.length).toBe(0);
    expect(send(request(Method.createPermission, [peer(PEER.ip, 1)], creds))!.cls).toBe(StunClass.success);
    send(sendIndication(PEER.ip, PEER.port, Buffer.from('hello')));
    expect(io.toPeer.at(-1)).toEqual({ ...PEER, data: Buffer.from('hello') });
    core.handlePeer(alloc, PEER.ip, PEER.port, Buffer.from('back'), io.now);
    const data = io.last();
    expect([data.method, data.cls, data.peer, data.data?.toString()]).toEqual([Method.data, StunClass.indication, PEER, 'back']);
    core.handlePeer(alloc, '198.51.100.8', 1, Buffer.from('stranger'), io.now);
    expect(io.toClient.length).toBe(4 - 1 + 1); // no answer for the stranger

    expect(send(request(Method.channelBind, [channel(0x4001), peer(PEER.ip, PEER.port)], creds))!.cls).toBe(StunClass.success);
    core.handleUdp(CLIENT.ip, CLIENT.port, encodeChannelData(0x4001, Buffer.from('via channel')), io.now);
    expect(io.toPeer.at(-1)!.data.toString()).toBe('via channel');
    core.handlePeer(alloc, PEER.ip, PEER.port, Buffer.from('cd back'), io.now);
    const cd = io.toClient.at(-1)!.data;
    expect(cd.readUInt16BE(0)).toBe(0x4001);
    expect(cd.subarray(4).toString()).toBe('cd back');
    expect(send(request(Method.channelBind, [channel(0x4002), peer(PEER.ip, PEER.port)], creds))!.code).toBe(400);
    expect(send(request(Method.channelBind, [channel(0x4001), peer(PEER.ip, PEER.port + 1)], creds))!.code).toBe(400);
    expect(send(request(Method.channelBind, [channel(0x3000), peer(PEER.ip, PEER.port)], creds))!.code).toBe(400);

    // Permission expires at 300 s: ChannelData is dropped though the channel lives to 600 s.
    const t = io.now;
    core.tick(t + 299_999);
    core.handleUdp(CLIENT.ip, CLIENT.port, encodeChannelData(0x4001, Buffer.from('a')), t + 299_999);
    expect(io.toPeer.at(-1)!.data.toString()).toBe('a');
    core.handleUdp(CLIENT.ip, CLIENT.port, encodeChannelData(0x4001, Buffer.from('b')), t + 300_000);
    expect(io.toPeer.at(-1)!.data.toString()).toBe('a');
    expect(core.stats.dropped.no_permission).toBeGreaterThan(0);
    // Refresh the permission; the channel still expires at 600 s.
    io.now = t + 300_001;
    expect(send(request(Method.refresh, [lifetime(3600)], creds))!.lifetime).toBe(3600);
    expect(send(request(Method.createPermission, [peer(PEER.ip, 1)], creds))!.cls).toBe(StunClass.success);
    core.handleUdp(CLIENT.ip, CLIENT.port, encodeChannelData(0x4001, Buffer.from('c')), t + 599_999);
    expect(io.toPeer.at(-1)!.data.toString()).toBe('c');
    core.tick(t + 600_000);
    core.handleUdp(CLIENT.ip, CLIENT.port, encodeChannelData(0x4001, Buffer.from('d')), t + 600_000);
    expect(io.toPeer.at(-1)!.data.toString()).toBe('c');
    expect(core.stats.dropped.no_channel).toBe(1);
  });

  it('allocation lifetime: default 600 s, Refresh extends, LIFETIME 0 deletes, TCP close frees', () => {
    const { io, core, send, allocate } = setup();
    const creds = allocate();
    expect(core.tick(T0 + 599_999)).toBe(T0 + 600_000);
    expect(core.allocationCount()).toBe(1);
    core.tick(T0 + 600_000);
    expect(core.allocationCount()).toBe(0);
    expect(io.closed.length).toBe(1);

    const c2 = allocate('alice', 'secret1', { ip: '203.0.113.9', port: 9 });
    void creds;
    const r = send(request(Method.refresh, [lifetime(0)], c2), io.now, { ip: '203.0.113.9', port: 9 })!;
    expect([r.cls, r.lifetime]).toEqual([StunClass.success, 0]);
    expect(core.allocationCount()).toBe(0);
    expect(send(request(Method.refresh, [lifetime(0)], c2), io.now, { ip: '203.0.113.9', port: 9 })!.code).toBe(437);

    const tcp: ClientRef = { transport: 'tcp', ip: '203.0.113.10', port: 10, key: 't1', conn: undefined };
    core.handleStream(tcp, request(Method.allocate, [transportUdp]), io.now);
    const ch = io.last();
    core.handleStream(tcp, request(Method.allocate, [transportUdp], { username: 'bob', password: 'secret2', realm: ch.realm!, nonce: ch.nonce! }), io.now);
    expect(io.last().cls).toBe(StunClass.success);
    expect(core.allocationCount()).toBe(1);
    core.clientClosed('t1');
    expect(core.allocationCount()).toBe(0);
  });

  it('bad input is counted and never answered: garbage, responses, bad fingerprint, ChannelData without allocation', () => {
    const { core, io } = setup();
    core.handleUdp(CLIENT.ip, CLIENT.port, Buffer.from([0x80, 1, 2, 3]), T0);
    core.handleUdp(CLIENT.ip, CLIENT.port, Buffer.alloc(0), T0);
    core.handleUdp(CLIENT.ip, CLIENT.port, encodeChannelData(0x4000, Buffer.from('x')), T0);
    const req = request(Method.binding);
    req[req.length - 1]! ^= 1;
    core.handleUdp(CLIENT.ip, CLIENT.port, req, T0);
    core.handleUdp(CLIENT.ip, CLIENT.port, Buffer.from('0001000c2112a442', 'hex'), T0);
    expect(io.toClient.length).toBe(0);
    expect(core.stats.dropped).toMatchObject({ not_stun: 2, no_allocation: 1, bad_fingerprint: 1, malformed: 1 });
    expect(ErrorCodes.forbidden).toBe(403);
  });
});
