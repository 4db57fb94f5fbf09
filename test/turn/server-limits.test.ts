// Server-level limits and privacy on real sockets: the relay port range bounds allocations (508),
// and lifecycle logs carry neither addresses nor usernames.
import { createSocket } from 'node:dgram';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Method, StunClass } from '../../src/turn/codec/index.js';
import { startTestTurn } from './helpers/plane.js';
import { parse, request, transportUdp } from './helpers/stun-client.js';
import { udpClient } from './helpers/wire.js';

async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('TURN plane limits and logs', () => {
  it('a one-port relay range serves one allocation, then answers 508; logs hold no address or username', async () => {
    const port = await freeUdpPort();
    const lines: string[] = [];
    const sink = new PassThrough();
    sink.on('data', (d: Buffer) => lines.push(d.toString()));
    const { plane } = await startTestTurn({ relayPortMin: port, relayPortMax: port }, sink);
    const c1 = await udpClient(plane.udpPort);
    const c2 = await udpClient(plane.udpPort);
    try {
      const ch = parse(await c1.call(request(Method.allocate, [transportUdp])));
      const creds = { username: 'alice', password: 'secret1', realm: ch.realm!, nonce: ch.nonce! };
      const first = parse(await c1.call(request(Method.allocate, [transportUdp], creds)));
      expect(first.cls).toBe(StunClass.success);
      expect(first.relayed!.port).toBe(port);
      const second = parse(await c2.call(request(Method.allocate, [transportUdp], creds)));
      expect(second.code).toBe(508);
      // Freeing the first allocation frees its port for the next one.
      expect(parse(await c1.call(request(Method.refresh, [(w) => w.u32(0x000d, 0)], creds))).lifetime).toBe(0);
      const third = parse(await c2.call(request(Method.allocate, [transportUdp], creds)));
      expect([third.cls, third.relayed?.port]).toEqual([StunClass.success, port]);
    } finally {
      await c1.close();
      await c2.close();
      await plane.close();
    }
    await new Promise((r) => setTimeout(r, 50)); // let pino flush
    const log = lines.join('');
    expect(log).toContain('allocation_open');
    expect(log).toContain('allocation_close');
    expect(log).not.toContain('127.0.0.1');
    expect(log).not.toContain('alice');
  });
});
