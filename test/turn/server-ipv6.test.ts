// The TURN plane on IPv6 loopback: an IPv6 relay address, XOR-PEER-ADDRESS with the transaction id
// mixed in, 443 for an IPv4 peer, 440 for an IPv4 relay request, 403 for a unique-local peer.
import { createSocket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { Attr, Method, StunClass, encodeChannelData } from '../../src/turn/codec/index.js';
import { startTestTurn } from './helpers/plane.js';
import { channel, parse, peer, request, transportUdp } from './helpers/stun-client.js';
import { Inbox, byTid } from './helpers/wire.js';

describe('TURN plane over IPv6', () => {
  it('allocates an IPv6 relay and relays ChannelData to an IPv6 peer', async () => {
    const { plane } = await startTestTurn({ host: '::1', peerAllowList: ['::1/128'] });
    const client = createSocket('udp6');
    const peerSock = createSocket('udp6');
    const inbox = new Inbox();
    const peerInbox = new Inbox();
    client.on('message', (m) => inbox.push(m));
    peerSock.on('message', (m) => peerInbox.push(m));
    await new Promise<void>((r) => client.bind(0, '::1', () => r()));
    await new Promise<void>((r) => peerSock.bind(0, '::1', () => r()));
    const call = async (b: Buffer): Promise<ReturnType<typeof parse>> => {
      const p = inbox.next(byTid(b.subarray(8, 20)));
      client.send(b, plane.udpPort, '::1');
      return parse(await p);
    };
    try {
      const ch = await call(request(Method.allocate, [transportUdp]));
      const creds = { username: 'alice', password: 'secret1', realm: ch.realm!, nonce: ch.nonce! };
      const v4 = await call(request(Method.allocate, [transportUdp, (w) => w.byteThenReserved(Attr.requestedAddressFamily, 1)], creds));
      expect(v4.code).toBe(440);
      const ok = await call(request(Method.allocate, [transportUdp, (w) => w.byteThenReserved(Attr.requestedAddressFamily, 2)], creds));
      expect(ok.cls).toBe(StunClass.success);
      expect(ok.relayed!.ip).toBe('::1');
      expect(ok.mapped).toEqual({ ip: '::1', port: client.address().port });
      expect((await call(request(Method.createPermission, [peer('127.0.0.1', 1)], creds))).code).toBe(443);
      expect((await call(request(Method.createPermission, [peer('fd00:ec2::254', 1)], creds))).code).toBe(403);
      const peerPort = peerSock.address().port;
      expect((await call(request(Method.channelBind, [channel(0x4001), peer('::1', peerPort)], creds))).cls).toBe(StunClass.success);
      client.send(encodeChannelData(0x4001, Buffer.from('v6 hello')), plane.udpPort, '::1');
      expect((await peerInbox.next()).toString()).toBe('v6 hello');
      peerSock.send(Buffer.from('v6 back'), ok.relayed!.port, '::1');
      const cd = await inbox.next((b) => b.readUInt16BE(0) === 0x4001);
      expect(cd.subarray(4).toString()).toBe('v6 back');
    } finally {
      await new Promise<void>((r) => client.close(() => r()));
      await new Promise<void>((r) => peerSock.close(() => r()));
      await plane.close();
    }
  });
});
