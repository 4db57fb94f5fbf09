// TURN over TCP and TLS on real loopback sockets (issue 9, item 4): connections without an allocation
// are closed turn.tcpIdleTimeoutSec after they open, whatever they send (nothing, a trickled frame,
// Binding requests, a TLS handshake left unfinished or finished); an allocation keeps its connection
// until it ends; the per-address cap holds (evicting that address's oldest allocation-less connection,
// refusing only when all hold allocations) without touching other addresses. Measured times printed.
import { readFileSync } from 'node:fs';
import { connect as connectTls } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Method, StunClass } from '../../src/turn/codec/index.js';
import { restPassword } from '../../src/turn/core/credentials.js';
import { startTestTurn } from './helpers/plane.js';
import { allocateRelay, lifetime, parse, request } from './helpers/stun-client.js';
import { rawConnect, tcpClient, type RawConn, type WireClient } from './helpers/wire.js';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const ca = readFileSync(fixture('turn-test-cert.pem'));
const tlsFixture = { tls: true, tlsPort: 0, tlsCert: fixture('turn-test-cert.pem'), tlsKey: fixture('turn-test-key.pem') };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `pred` every 20 ms for up to `ms`. */
async function until(pred: () => boolean, ms: number): Promise<boolean> {
  for (const end = performance.now() + ms; performance.now() < end; await sleep(20)) if (pred()) return true;
  return pred();
}

function user(tag: string): { username: string; password: string } {
  const username = `${Math.floor(Date.now() / 1000) + 600}:${tag}`;
  return { username, password: restPassword('rest-secret', username) };
}

/** A TLS connection that completes its handshake, then sends nothing. */
async function tlsSilent(port: number): Promise<RawConn> {
  const openedAt = performance.now();
  const socket = connectTls({ port, host: '127.0.0.1', ca });
  socket.on('error', () => {});
  let done = false;
  const closed = new Promise<number>((r) => socket.once('close', () => ((done = true), r(performance.now()))));
  await new Promise((r) => socket.once('secureConnect', r));
  return { socket, openedAt, closed, isClosed: () => done };
}

describe('TURN TCP/TLS idle timeout', () => {
  it('closes every kind of allocation-less connection after tcpIdleTimeoutSec (TCP and TLS); allocations keep theirs', async () => {
    const IDLE_MS = 1000;
    const { plane } = await startTestTurn({ ...tlsFixture, tcpIdleTimeoutSec: IDLE_MS / 1000 });
    const held: WireClient[] = [];
    const timers: NodeJS.Timeout[] = [];
    try {
      held.push(await tcpClient(plane.tcpPort));
      held.push(await tcpClient(plane.tlsPort, { ca }));
      const creds = [];
      for (const [i, c] of held.entries()) {
        const u = user(`held${i}`);
        creds.push((await allocateRelay(c, u.username, u.password)).creds);
      }
      const idle: Array<[string, RawConn]> = [];
      idle.push(['tcp silent', await rawConnect(plane.tcpPort)]);
      const trickle = await rawConnect(plane.tcpPort);
      trickle.socket.write(Buffer.from([0x40, 0x00, 0xff, 0xfc])); // a ChannelData header claiming 64 KiB
      timers.push(setInterval(() => trickle.isClosed() || trickle.socket.write(Buffer.alloc(1)), 100));
      idle.push(['tcp trickling a 64 KiB frame', trickle]);
      const pinger = await tcpClient(plane.tcpPort);
      pinger.socket!.on('error', () => {});
      const pingClosed = new Promise<number>((r) => pinger.socket!.once('close', () => r(performance.now())));
      const pingOpened = performance.now();
      timers.push(setInterval(() => pinger.socket!.destroyed || pinger.send(request(Method.binding)), 150));
      idle.push(['tcp sending Binding requests', { socket: pinger.socket!, openedAt: pingOpened, closed: pingClosed, isClosed: () => pinger.socket!.destroyed }]);
      idle.push(['tls handshake done, silent', await tlsSilent(plane.tlsPort)]);
      idle.push(['tls port, no handshake', await rawConnect(plane.tlsPort)]);
      const partial = await rawConnect(plane.tlsPort);
      partial.socket.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01])); // a ClientHello cut short
      idle.push(['tls port, half a ClientHello', partial]);
      expect(plane.tcpStats().open).toBe(2 + idle.length);

      const lived = await Promise.all(idle.map(async ([name, c]) => [name, (await c.closed) - c.openedAt] as const));
      for (const [name, ms] of lived) console.log(`${name}: closed after ${ms.toFixed(0)} ms (timeout ${IDLE_MS} ms)`);
      for (const [name, ms] of lived) {
        expect(ms, name).toBeGreaterThanOrEqual(IDLE_MS - 50);
        expect(ms, name).toBeLessThan(IDLE_MS + 4000);
      }
      const closed = plane.tcpStats().closed;
      expect({ idle: closed.idle, tls_handshake: closed.tls_handshake }).toEqual({ idle: 4, tls_handshake: 2 });

      // Past the timeout (they opened before all the above), connections with allocations still work.
      for (const c of held) expect(parse(await c.call(request(Method.binding))).cls).toBe(StunClass.success);
      expect(plane.tcpStats().open).toBe(2);

      // Once its allocation is deleted, the connection gets the idle deadline again.
      const released = performance.now();
      const gone = new Promise<number>((r) => held[0]!.socket!.once('close', () => r(performance.now())));
      expect(parse(await held[0]!.call(request(Method.refresh, [lifetime(0)], creds[0]))).lifetime).toBe(0);
      const after = (await gone) - released;
      console.log(`TCP connection after its allocation ended: closed after ${after.toFixed(0)} ms`);
      expect(after).toBeGreaterThanOrEqual(IDLE_MS - 50);
      expect(after).toBeLessThan(IDLE_MS + 4000);
      expect(plane.tcpStats().closed.idle).toBe(5);
      expect(parse(await held[1]!.call(request(Method.binding))).cls).toBe(StunClass.success);
    } finally {
      for (const t of timers) clearInterval(t);
      await Promise.all(held.map((c) => c.close()));
      await plane.close();
    }
  }, 30_000);
});

describe('TURN TCP/TLS per-address cap', () => {
  it('holds across TCP and TLS: the oldest allocation-less connection of that address is evicted, other addresses untouched, refused only when all hold allocations', async () => {
    const CAP = 8;
    const { plane } = await startTestTurn({ ...tlsFixture, maxTcpConnectionsPerAddress: CAP, tcpIdleTimeoutSec: 60 });
    const all: RawConn[] = [];
    const held: WireClient[] = [];
    try {
      // 20 from 127.0.0.2, alternating TCP and TLS ports: 8 stay, the 12 oldest are evicted.
      const a: RawConn[] = [];
      for (let i = 0; i < 20; i++) {
        a.push(await rawConnect(i % 2 === 0 ? plane.tcpPort : plane.tlsPort, '127.0.0.2'));
        expect(await until(() => plane.tcpStats().open + plane.tcpStats().closed.evicted === i + 1, 5000)).toBe(true);
        expect(plane.tcpStats().open).toBeLessThanOrEqual(CAP);
      }
      all.push(...a);
      expect(await until(() => a.filter((c) => c.isClosed()).length === 12, 5000)).toBe(true);
      expect(a.slice(0, 12).every((c) => c.isClosed())).toBe(true);
      expect(a.slice(12).some((c) => c.isClosed())).toBe(false);
      expect(plane.tcpStats().closed.evicted).toBe(12);

      // Another address is not affected.
      const b = [await rawConnect(plane.tcpPort, '127.0.0.3'), await rawConnect(plane.tlsPort, '127.0.0.3')];
      all.push(...b);
      expect(await until(() => plane.tcpStats().open === CAP + 2, 5000)).toBe(true);
      expect(b.some((c) => c.isClosed()) || a.slice(12).some((c) => c.isClosed())).toBe(false);

      // An address whose connections all hold allocations: the next one is refused, they keep working.
      for (let i = 0; i < CAP; i++) {
        const c = await tcpClient(i % 2 === 0 ? plane.tcpPort : plane.tlsPort, i % 2 === 0 ? undefined : { ca }, '127.0.0.4');
        held.push(c);
        const u = user(`cap${i}`);
        await allocateRelay(c, u.username, u.password);
      }
      const refusedBefore = plane.tcpStats().closed.refused;
      const extra = await rawConnect(plane.tcpPort, '127.0.0.4').catch(() => undefined);
      if (extra) await extra.closed;
      expect(plane.tcpStats().closed.refused).toBe(refusedBefore + 1);
      for (const c of held) expect(parse(await c.call(request(Method.binding))).cls).toBe(StunClass.success);
      console.log(`per-address cap ${CAP}: 20 attempts from one address -> ${CAP} open, ${plane.tcpStats().closed.evicted} evicted; full address of allocations -> refused ${plane.tcpStats().closed.refused}`);
    } finally {
      for (const c of all) c.socket.destroy();
      await Promise.all(held.map((c) => c.close()));
      await plane.close();
    }
  }, 30_000);
});
