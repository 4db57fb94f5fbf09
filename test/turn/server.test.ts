// The TURN plane on real loopback sockets (port 0): UDP and TCP clients allocate, relay through
// Send/Data indications and channels to a UDP peer; the default policy refuses a private peer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Method, StunClass, encodeChannelData } from '../../src/turn/codec/index.js';
import { restPassword } from '../../src/turn/core/credentials.js';
import type { TurnPlane } from '../../src/turn/server/turn-plane.js';
import { startTestTurn } from './helpers/plane.js';
import { channel, parse, peer, request, sendIndication, transportUdp, type Creds } from './helpers/stun-client.js';
import { peerSocket, tcpClient, udpClient, type WireClient } from './helpers/wire.js';
import type { PlaneContext } from '../../src/host/plane.js';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

let plane: TurnPlane;
let ctx: PlaneContext;

beforeAll(async () => {
  ({ plane, ctx } = await startTestTurn({ tls: true, tlsPort: 0, tlsCert: fixture('turn-test-cert.pem'), tlsKey: fixture('turn-test-key.pem') }));
});
afterAll(async () => {
  await plane.close();
  await plane.close(); // idempotent
});

async function allocate(c: WireClient, username: string, password: string): Promise<{ creds: Creds; relayPort: number }> {
  const challenge = parse(await c.call(request(Method.allocate, [transportUdp])));
  expect(challenge.code).toBe(401);
  const creds = { username, password, realm: challenge.realm!, nonce: challenge.nonce! };
  const ok = parse(await c.call(request(Method.allocate, [transportUdp], creds)));
  expect(ok.cls).toBe(StunClass.success);
  expect(ok.relayed!.ip).toBe('127.0.0.1');
  expect(ok.mapped).toEqual({ ip: '127.0.0.1', port: c.localPort() });
  return { creds, relayPort: ok.relayed!.port };
}

describe.each(['udp', 'tcp', 'tls'] as const)('TURN plane over %s', (mode) => {
  it('allocates, relays Send/Data and ChannelData both ways, refuses a private peer', async () => {
    const transport = mode === 'udp' ? 'udp' : 'tcp';
    const c =
      mode === 'udp'
        ? await udpClient(plane.udpPort)
        : mode === 'tcp'
          ? await tcpClient(plane.tcpPort)
          : await tcpClient(plane.tlsPort, { ca: readFileSync(fixture('turn-test-cert.pem')) });
    const p = await peerSocket();
    try {
      const username = transport === 'udp' ? 'alice' : `${Math.floor(Date.now() / 1000) + 600}:test`;
      const password = transport === 'udp' ? 'secret1' : restPassword('rest-secret', username);
      const { creds, relayPort } = await allocate(c, username, password);
      const jsRelayed = plane.core.stats.relayedPackets.toPeer + plane.core.stats.relayedPackets.toClient;
      const relayedBefore = plane.stats().relayedPackets;
      const [peerBefore, clientBefore] = [relayedBefore.toPeer, relayedBefore.toClient];

      expect(parse(await c.call(request(Method.createPermission, [peer('10.0.0.1', 9)], creds))).code).toBe(403);
      expect(parse(await c.call(request(Method.createPermission, [peer('127.0.0.1', p.port)], creds))).cls).toBe(StunClass.success);

      c.send(sendIndication('127.0.0.1', p.port, Buffer.from('to peer')));
      expect((await p.inbox.next()).toString()).toBe(`${relayPort}|to peer`);
      p.socket.send(Buffer.from('to client'), relayPort, '127.0.0.1');
      const data = parse(await c.inbox.next((b) => b.readUInt16BE(0) === 0x0017));
      expect([data.method, data.peer, data.data?.toString()]).toEqual([Method.data, { ip: '127.0.0.1', port: p.port }, 'to client']);

      expect(parse(await c.call(request(Method.channelBind, [channel(0x4abc), peer('127.0.0.1', p.port)], creds))).cls).toBe(StunClass.success);
      c.send(encodeChannelData(0x4abc, Buffer.from('over channel'), transport === 'tcp'));
      expect((await p.inbox.next()).toString()).toBe(`${relayPort}|over channel`);
      p.socket.send(Buffer.from('back'), relayPort, '127.0.0.1');
      const cd = await c.inbox.next((b) => b.readUInt16BE(0) === 0x4abc);
      expect(cd.readUInt16BE(2)).toBe(4);
      expect(cd.subarray(4, 8).toString()).toBe('back');
      if (transport === 'tcp') expect(cd.length % 4).toBe(0);
      const relayed = plane.stats().relayedPackets;
      expect([relayed.toPeer - peerBefore, relayed.toClient - clientBefore]).toEqual([2, 2]);
      // On the native data path, a UDP client's relay traffic never enters JS.
      const jsNow = plane.core.stats.relayedPackets.toPeer + plane.core.stats.relayedPackets.toClient;
      expect(jsNow - jsRelayed).toBe(plane.dataPlane === 'native' && transport === 'udp' ? 0 : 4);

      const before = plane.core.allocationCount();
      if (transport === 'udp') expect(parse(await c.call(request(Method.refresh, [(w) => w.u32(0x000d, 0)], creds))).lifetime).toBe(0);
      await c.close();
      for (let i = 0; i < 100 && plane.core.allocationCount() >= before; i++) await new Promise((r) => setTimeout(r, 10));
      expect(plane.core.allocationCount()).toBe(before - 1);
    } finally {
      await c.close().catch(() => {});
      await p.close();
    }
  });
});

describe('TURN plane: metrics and misuse', () => {
  it('exports counters with closed labels and no addresses', async () => {
    const c = await udpClient(plane.udpPort);
    c.send(Buffer.from('garbage!'));
    await c.call(request(Method.binding));
    await c.close();
    const text = ctx.metrics.render();
    expect(text).toMatch(/xrelay_turn_requests_total\{method="binding"\} [1-9]/);
    expect(text).toMatch(/xrelay_turn_errors_total\{code="403"\} [1-9]/);
    expect(text).toContain('xrelay_turn_allocations');
    expect(text).not.toContain('127.0.0.1');
  });

  it('a malformed TCP stream loses only its own connection', async () => {
    const bad = await tcpClient(plane.tcpPort);
    const good = await tcpClient(plane.tcpPort);
    bad.send(Buffer.from([0xff, 0xff, 0xff, 0xff]));
    expect(parse(await good.call(request(Method.binding))).mapped?.port).toBe(good.localPort());
    await bad.close();
    await good.close();
  });
});
