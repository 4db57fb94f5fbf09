// Fuzz of the native TURN listener demux and forwarder: random and mutated datagrams never crash it
// nor disturb a working allocation. First driven directly (deterministic mode, 150000 datagrams from
// matching and unknown sources, with random clocks), then on real loopback sockets through the
// native data path. Also run under ASan/UBSan by native/sanitize.sh. Skipped when the addon is absent.
import { describe, expect, it } from 'vitest';
import { Method, StunClass, encodeChannelData } from '../../src/turn/codec/index.js';
import { Allocation } from '../../src/turn/core/allocation.js';
import { loadNativeTurn, packForwarding } from '../../src/turn/server/native-turn.js';
import { prng } from './helpers/native-diff.js';
import { startTestTurn } from './helpers/plane.js';
import { allocateRelay, channel, parse, peer, request, sendIndication, transportUdp } from './helpers/stun-client.js';
import { peerSocket, udpClient } from './helpers/wire.js';

const { addon, reason } = loadNativeTurn();

describe.skipIf(addon === undefined)(`native TURN demux fuzz${addon ? '' : ` (skipped: ${reason})`}`, () => {
  it('150000 random and mutated datagrams: valid actions, in-bounds slices, no crash', () => {
    const rand = prng(4242);
    const int = (n: number): number => Math.floor(rand() * n);
    const h = new addon!.NativeTurn(Buffer.alloc(8, 3));
    const clients = [
      ['10.0.0.1', 1000],
      ['10.0.0.2', 1001],
      ['2001:db8::1', 1002],
    ] as const;
    clients.forEach(([ip, port], i) => {
      const a = new Allocation(i + 1, { transport: 'udp', ip, port, key: String(i), conn: undefined }, 'u', Buffer.alloc(16), false, ip.includes(':') ? 6 : 4, Buffer.alloc(12), 1e12);
      const peerIp = ip.includes(':') ? '2001:db8::9' : '192.0.2.9';
      a.permissions.set(peerIp, 5000);
      a.bindChannel(0x4000 + i, peerIp, 9000, 5000);
      expect(h.add(i + 1, ip, port, a.family)).toBe(true);
      expect(h.sync(i + 1, packForwarding(a))).toBe(true);
    });
    const seeds = [
      encodeChannelData(0x4000, Buffer.alloc(40, 1)),
      sendIndication('192.0.2.9', 9000, Buffer.alloc(30, 2)),
      sendIndication('2001:db8::9', 9000, Buffer.alloc(30, 2)),
      request(Method.allocate, [transportUdp]),
    ];
    const out = Buffer.alloc(addon!.turnMaxClientMessage);
    const act = new Int32Array(5);
    const ip = new Uint8Array(17);
    const counts = [0, 0, 0];
    for (let i = 0; i < 150_000; i++) {
      let buf: Buffer;
      if (rand() < 0.5) {
        buf = Buffer.from(seeds[int(seeds.length)]!);
        for (let k = 1 + int(4); k > 0 && buf.length > 0; k--) buf[int(buf.length)] = int(256);
        if (rand() < 0.3) buf = buf.subarray(0, int(buf.length + 1));
      } else {
        buf = Buffer.alloc(int(rand() < 0.9 ? 80 : 2000));
        for (let k = 0; k < buf.length; k++) buf[k] = int(256);
        if (buf.length > 0 && rand() < 0.5) buf[0] = 0x40 | (buf[0]! & 0x3f);
      }
      const [cip, cport] = rand() < 0.8 ? clients[int(3)]! : ['10.9.9.9', 1 + int(65535)];
      const now = int(10_000);
      const a = h.fromClient(buf, cip, cport, now, act, ip);
      expect(a === 0 || a === 1 || a === 2).toBe(true);
      counts[a]!++;
      if (a === 1) expect(act[3]! >= 0 && act[3]! + act[4]! <= buf.length && act[2]! > 0).toBe(true);
      if (i % 3 === 0) {
        const n = h.fromPeer(1 + int(3), buf, rand() < 0.5 ? '192.0.2.9' : '2001:db8::9', rand() < 0.5 ? 9000 : 1 + int(65535), now, out);
        expect(n >= 0 && n <= out.length).toBe(true);
      }
    }
    expect(counts.every((c) => c > 100)).toBe(true);
  });

  it('random datagrams on the live listener and relay socket leave a working allocation working', async () => {
    // native whatever the suite's XRELAY_NATIVE says (the parametrised suite runs this file twice)
    const saved = process.env.XRELAY_NATIVE;
    delete process.env.XRELAY_NATIVE;
    const { plane } = await startTestTurn({ dataPlane: 'native' }).finally(() => {
      if (saved !== undefined) process.env.XRELAY_NATIVE = saved;
    });
    const c = await udpClient(plane.udpPort);
    const other = await udpClient(plane.udpPort);
    const p = await peerSocket();
    try {
      const { creds, relayPort } = await allocateRelay(c, 'alice', 'secret1');
      expect(parse(await c.call(request(Method.channelBind, [channel(0x4001), peer('127.0.0.1', p.port)], creds))).cls).toBe(StunClass.success);
      const rand = prng(99);
      const int = (n: number): number => Math.floor(rand() * n);
      for (let i = 0; i < 3000; i++) {
        const b = Buffer.alloc(int(300));
        for (let k = 0; k < b.length; k++) b[k] = int(256);
        if (b.length > 4 && i % 3 === 0) b[0] = 0x40; // looks like ChannelData
        (i % 2 === 0 ? c : other).send(b);
        if (i % 5 === 0) p.socket.send(b, relayPort, '127.0.0.1');
        if (i % 200 === 0) await new Promise((r) => setImmediate(r));
      }
      // still serving: Binding, and ChannelData both ways
      expect(parse(await other.call(request(Method.binding))).mapped?.port).toBe(other.localPort());
      c.send(encodeChannelData(0x4001, Buffer.from('still here')));
      expect((await p.inbox.next((m) => m.toString().endsWith('still here'))).toString()).toBe(`${relayPort}|still here`);
      p.socket.send(Buffer.from('and back'), relayPort, '127.0.0.1');
      const back = await c.inbox.next((m) => m.length === 12 && m.readUInt16BE(0) === 0x4001 && m.subarray(4).toString() === 'and back');
      expect(back.readUInt16BE(2)).toBe(8);
    } finally {
      await Promise.all([c.close(), other.close(), p.close()]);
      await plane.close();
    }
  }, 30_000);
});
