// Malformed bytes on TURN over TCP and TLS (issue 9, item 3 for the TURN plane) disturb no honest
// client: while garbage, random bytes, truncated frames, a length header claiming 64 KiB then
// silence, and TLS garbage before (and after) the handshake arrive on fresh connections, one honest
// TCP and one honest TLS client keep relaying ChannelData through an echo peer with nothing lost.
// Every bad connection is closed, each for its counted reason, within the idle timeout plus slack.
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { encodeChannelData, Method, StunClass } from '../../src/turn/codec/index.js';
import { restPassword } from '../../src/turn/core/credentials.js';
import { startTestTurn } from './helpers/plane.js';
import { allocateRelay, channel, parse, peer, request } from './helpers/stun-client.js';
import { rawConnect, tcpClient, udpClient, type WireClient } from './helpers/wire.js';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const ca = readFileSync(fixture('turn-test-cert.pem'));
const IDLE_MS = 2000;

/** A TLS connection, handshake done, with its close time. */
async function tlsConn(port: number): Promise<{ socket: Socket; closed: Promise<number> }> {
  const socket = connectTls({ port, host: '127.0.0.1', ca });
  socket.on('error', () => {});
  socket.on('data', () => {});
  const closed = new Promise<number>((r) => socket.once('close', () => r(performance.now())));
  await new Promise((r) => socket.once('secureConnect', r));
  return { socket, closed };
}

async function tcpConn(port: number): Promise<{ socket: Socket; closed: Promise<number> }> {
  const c = await rawConnect(port);
  return { socket: c.socket, closed: c.closed };
}

/** Garbage whose first byte is no STUN/ChannelData start (top bits 10 or 11). */
const garbage = (n: number): Buffer => {
  const b = randomBytes(n);
  b[0] = 0x80 | (b[0]! & 0x7f);
  return b;
};
const claim64k = Buffer.from([0x40, 0x00, 0xff, 0xfc, 1, 2, 3]);
const halfBinding = (): Buffer => request(Method.binding).subarray(0, 11);

describe('TURN TCP/TLS: malformed streams do not disturb an honest client', () => {
  it('garbage, random bytes, truncated frames, a 64 KiB claim then silence, TLS garbage: honest TCP and TLS clients relay on with 0 loss', async () => {
    const { plane } = await startTestTurn({ tls: true, tlsPort: 0, tlsCert: fixture('turn-test-cert.pem'), tlsKey: fixture('turn-test-key.pem'), tcpIdleTimeoutSec: IDLE_MS / 1000 });
    const echo = createSocket('udp4');
    echo.on('message', (m, r) => echo.send(m, r.port, r.address));
    await new Promise<void>((r) => echo.bind(0, '127.0.0.1', () => r()));
    const honest: WireClient[] = [];
    const bad: Array<{ name: string; socket: Socket; closed: Promise<number>; at: number }> = [];
    try {
      honest.push(await tcpClient(plane.tcpPort), await tcpClient(plane.tlsPort, { ca }));
      for (const [i, c] of honest.entries()) {
        const username = `${Math.floor(Date.now() / 1000) + 600}:honest${i}`;
        const { creds } = await allocateRelay(c, username, restPassword('rest-secret', username));
        expect(parse(await c.call(request(Method.channelBind, [channel(0x4001), peer('127.0.0.1', echo.address().port)], creds))).cls).toBe(StunClass.success);
      }

      const attack = async (name: string, open: () => Promise<{ socket: Socket; closed: Promise<number> }>, act: (s: Socket) => void): Promise<void> => {
        const c = await open();
        bad.push({ name, ...c, at: performance.now() });
        act(c.socket);
      };
      const tcp = (): Promise<{ socket: Socket; closed: Promise<number> }> => tcpConn(plane.tcpPort);
      const tlsRaw = (): Promise<{ socket: Socket; closed: Promise<number> }> => tcpConn(plane.tlsPort);
      const tls = (): Promise<{ socket: Socket; closed: Promise<number> }> => tlsConn(plane.tlsPort);
      const attacks: Array<Promise<void>> = [];
      for (const [transport, open] of [['tcp', tcp], ['tls', tls]] as const) {
        attacks.push(
          attack(`${transport}: garbage`, open, (s) => s.write(garbage(1024))),
          attack(`${transport}: half a Binding request, then FIN`, open, (s) => s.end(halfBinding())),
          attack(`${transport}: half a Binding request, then silence`, open, (s) => s.write(halfBinding())),
          attack(`${transport}: 64 KiB length header, then silence`, open, (s) => s.write(claim64k)),
          attack(`${transport}: a valid Binding, then garbage`, open, (s) => s.write(Buffer.concat([request(Method.binding), garbage(64)]))),
        );
        for (let i = 0; i < 8; i++) attacks.push(attack(`${transport}: random bytes #${i}`, open, (s) => s.write(randomBytes(1 + Math.floor(Math.random() * 3000)))));
      }
      attacks.push(
        attack('tls port: garbage before the handshake', tlsRaw, (s) => s.write(garbage(512))),
        attack('tls port: a TLS record header claiming 16 KiB, then silence', tlsRaw, (s) => s.write(Buffer.from([0x16, 0x03, 0x01, 0x40, 0x00, 0x01]))),
        attack('tls port: random bytes before the handshake', tlsRaw, (s) => s.write(randomBytes(700))),
        attack('tls port: silence', tlsRaw, () => {}),
      );

      // The honest clients relay meanwhile: 100 round trips each through the echo peer.
      const ROUNDS = 100;
      const relay = async (c: WireClient, tag: string): Promise<number> => {
        let ok = 0;
        for (let i = 0; i < ROUNDS; i++) {
          const payload = Buffer.from(`${tag}-${i}`);
          c.send(encodeChannelData(0x4001, payload, true));
          const back = await c.inbox.next((b) => b.readUInt16BE(0) === 0x4001, 5000);
          if (back.subarray(4, 4 + back.readUInt16BE(2)).equals(payload)) ok++;
        }
        return ok;
      };
      const [okTcp, okTls] = await Promise.all([relay(honest[0]!, 'tcp'), relay(honest[1]!, 'tls'), Promise.all(attacks)]);
      expect([okTcp, okTls]).toEqual([ROUNDS, ROUNDS]);

      const lifetimes = await Promise.all(bad.map(async (b) => [b.name, (await b.closed) - b.at] as const));
      for (const [name, ms] of lifetimes) console.log(`${name}: closed after ${ms.toFixed(0)} ms`);
      for (const [name, ms] of lifetimes) expect(ms, name).toBeLessThan(IDLE_MS + 4000);
      const closed = plane.tcpStats().closed;
      console.log('closed by reason:', JSON.stringify(closed));
      expect(closed.framing).toBeGreaterThanOrEqual(4); // garbage and garbage-after-Binding, TCP and TLS
      expect(closed.tls_error).toBeGreaterThanOrEqual(1);
      expect(closed.idle).toBeGreaterThanOrEqual(4); // the silences, TCP and TLS
      expect(closed.tls_handshake).toBeGreaterThanOrEqual(2);
      // The honest clients are still there and still relaying.
      expect(plane.tcpStats().open).toBe(2);
      expect(plane.core.allocationCount()).toBe(2);
      expect([await relay(honest[0]!, 'tcp-after'), await relay(honest[1]!, 'tls-after')]).toEqual([ROUNDS, ROUNDS]);
    } finally {
      for (const b of bad) b.socket.destroy();
      await Promise.all(honest.map((c) => c.close()));
      await new Promise<void>((r) => echo.close(() => r()));
      await plane.close();
    }
  }, 40_000);
});

describe('TURN plane: a throw in the core is contained', () => {
  it('fault injected into the core on UDP and TCP input: counted as internal_error, the process and the next client are fine', async () => {
    const { plane, ctx } = await startTestTurn();
    const core = plane.core;
    const realUdp = core.handleUdp.bind(core);
    const realStream = core.handleStream.bind(core);
    try {
      core.handleUdp = () => {
        throw new TypeError('injected');
      };
      core.handleStream = () => {
        throw new TypeError('injected');
      };
      const u = await udpClient(plane.udpPort);
      const t = await tcpClient(plane.tcpPort);
      u.send(request(Method.binding));
      t.send(request(Method.binding));
      for (let i = 0; i < 250 && plane.stats().dropped.internal_error < 2; i++) await new Promise((r) => setTimeout(r, 20));
      expect(plane.stats().dropped.internal_error).toBe(2);
      expect(ctx.metrics.render()).toMatch(/xrelay_turn_dropped_total\{reason="internal_error"\} 2/);
      core.handleUdp = realUdp;
      core.handleStream = realStream;
      expect(parse(await u.call(request(Method.binding))).cls).toBe(StunClass.success);
      expect(parse(await t.call(request(Method.binding))).cls).toBe(StunClass.success);
      await Promise.all([u.close(), t.close()]);
    } finally {
      core.handleUdp = realUdp;
      core.handleStream = realStream;
      await plane.close();
    }
  });
});
