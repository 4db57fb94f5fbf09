// Fuzz the sans-IO core: mutated datagrams, and correctly signed requests whose attributes are random,
// never throw, never send to an invalid port, and leave the core consistent. Deterministic PRNG.
import { describe, expect, it } from 'vitest';
import { Attr, Method, StunClass, StunWriter, encodeChannelData, longTermKey } from '../../src/turn/codec/index.js';
import type { Allocation } from '../../src/turn/core/allocation.js';
import { defaultCoreOptions } from '../../src/turn/server/core-options.js';
import { TurnCore } from '../../src/turn/core/turn-core.js';
import type { ClientRef, TurnIo } from '../../src/turn/core/types.js';
import { parse, peer, request, sendIndication, transportUdp } from './helpers/stun-client.js';
import { seededRng as prng } from '../../src/load/rng.js';


/** Like dgram: throws on ports it would refuse. */
class StrictIo implements TurnIo {
  core!: TurnCore;
  sent = 0;
  last: Buffer | undefined;
  sendToClient(c: ClientRef, data: Buffer): void {
    if (c.port <= 0 || c.port > 65535) throw new RangeError('bad client port');
    this.last = data;
  }
  sendToPeer(_a: Allocation, _ip: string, port: number): void {
    if (port <= 0 || port > 65535) throw new RangeError('bad peer port');
    this.sent++;
  }
  openRelay(a: Allocation): void {
    this.core.relayOpened(a, 50000, 0);
  }
  closeRelay(): void {}
}

describe('TURN core fuzz', () => {
  it('survives mutated and randomly-attributed signed input', () => {
    const rnd = prng(7);
    const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => Math.floor(rnd() * 256)));
    const io = new StrictIo();
    const core = new TurnCore(defaultCoreOptions({ staticUsers: ['u:p'], peerAllowList: ['127.0.0.0/8'] }), io);
    io.core = core;
    const now = 1_000_000;
    const ip = '192.0.2.10';
    core.handleUdp(ip, 4000, request(Method.allocate, [transportUdp]), now);
    const { realm, nonce } = parse(io.last!);
    const creds = { username: 'u', password: 'p', realm: realm!, nonce: nonce! };
    core.handleUdp(ip, 4000, request(Method.allocate, [transportUdp], creds), now);
    core.handleUdp(ip, 4000, request(Method.createPermission, [peer('198.51.100.1', 1)], creds), now);
    expect(core.allocationCount()).toBe(1);
    const key = longTermKey('u', realm!, 'p');
    const seeds = [
      sendIndication('198.51.100.1', 9, bytes(20)),
      encodeChannelData(0x4001, bytes(16)),
      request(Method.channelBind, [(w) => w.u16ThenReserved(Attr.channelNumber, 0x4001), peer('198.51.100.1', 7)], creds),
      request(Method.refresh, [(w) => w.u32(Attr.lifetime, 600)], creds),
    ];
    const types = [Attr.xorPeerAddress, Attr.channelNumber, Attr.lifetime, Attr.requestedTransport, Attr.requestedAddressFamily, Attr.evenPort, Attr.data, Attr.reservationToken, 0x0031, 0x8055];
    const methods = [Method.allocate, Method.refresh, Method.createPermission, Method.channelBind, Method.binding, Method.send, 0x00f];
    for (let i = 0; i < 20_000; i++) {
      let buf: Buffer;
      if (i % 2 === 0) {
        buf = Buffer.from(seeds[i % seeds.length]!);
        for (let k = 0; k < 1 + (i % 4); k++) buf[Math.floor(rnd() * buf.length)]! ^= 1 + Math.floor(rnd() * 255);
      } else {
        const w = new StunWriter().begin(methods[i % methods.length]!, rnd() < 0.7 ? StunClass.request : StunClass.indication, bytes(12));
        const n = Math.floor(rnd() * 4);
        for (let k = 0; k < n; k++) {
          const t = types[Math.floor(rnd() * types.length)]!;
          if (t === Attr.xorPeerAddress && rnd() < 0.7) w.address(t, rnd() < 0.5 ? '198.51.100.1' : '127.0.0.1', Math.floor(rnd() * 3) === 0 ? 0 : Math.floor(rnd() * 65536));
          else w.bytes(t, bytes(Math.floor(rnd() * 24)));
        }
        w.string(Attr.username, 'u').string(Attr.realm, realm!).string(Attr.nonce, nonce!).integrity(key);
        buf = w.fingerprint().finish();
      }
      expect(() => core.handleUdp(ip, 4000, buf, now + i)).not.toThrow();
      if (i % 1000 === 0) expect(() => core.tick(now + i)).not.toThrow();
    }
    expect(core.allocationCount()).toBeLessThanOrEqual(1);
  });
});
