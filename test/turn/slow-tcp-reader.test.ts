/**
 * A TCP or TLS TURN client that stops reading while its peer keeps sending: once more than the write
 * backlog cap (4 MiB) waits for it, the relay drops the connection and its allocation, instead of
 * buffering without bound; other clients on the listener are untouched. Real sockets on loopback.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Method, StunClass } from '../../src/turn/codec/index.js';
import { restPassword } from '../../src/turn/core/credentials.js';
import type { TurnPlane } from '../../src/turn/server/turn-plane.js';
import { startTestTurn } from './helpers/plane.js';
import { allocateRelay, parse, peer, request } from './helpers/stun-client.js';
import { peerSocket, tcpClient } from './helpers/wire.js';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
let plane: TurnPlane;
beforeAll(async () => {
  ({ plane } = await startTestTurn({ tls: true, tlsPort: 0, tlsCert: fixture('turn-test-cert.pem'), tlsKey: fixture('turn-test-key.pem') }));
});
afterAll(() => plane.close());

describe.each(['tcp', 'tls'] as const)('a %s client that stops reading', (mode) => {
  it('is disconnected past the backlog cap, and its allocation freed', async () => {
    const ca = mode === 'tls' ? { ca: readFileSync(fixture('turn-test-cert.pem')) } : undefined;
    const c = await tcpClient(mode === 'tcp' ? plane.tcpPort : plane.tlsPort, ca);
    const sock = c.socket!;
    const closed = new Promise<void>((r) => sock.once('close', () => r()));
    sock.on('error', () => {});
    const p = await peerSocket();
    try {
      const username = `${Math.floor(Date.now() / 1000) + 600}:slow`;
      const { creds, relayPort } = await allocateRelay(c, username, restPassword('rest-secret', username));
      expect(parse(await c.call(request(Method.createPermission, [peer('127.0.0.1', p.port)], creds))).cls).toBe(StunClass.success);
      const allocations = plane.core.allocationCount();

      // Stop reading; the peer sends up to 40 MB (kernel buffers hold ~10 MB before Node's backlog grows).
      sock.pause();
      const payload = Buffer.alloc(1000, 7);
      let sent = 0;
      // The relay drops the connection and with it the allocation (a paused socket would not notice).
      const gone = (): boolean => plane.core.allocationCount() < allocations;
      // Paced by what the relay has taken, so the datagrams reach it rather than overflow its socket.
      const relayed = (): number => plane.stats().relayedPackets.toClient;
      const start = relayed();
      while (!gone() && sent < 40_000) {
        for (let i = 0; i < 200; i++) p.socket.send(payload, relayPort, '127.0.0.1');
        sent += 200;
        for (let waited = 0; !gone() && relayed() - start < sent - 400 && waited < 50; waited++) await new Promise((r) => setTimeout(r, 1));
      }
      await expect.poll(gone, { timeout: 5000, message: `still allocated after ${sent} datagrams, ${relayed() - start} relayed` }).toBe(true);
      console.log(`${mode}: dropped after ${sent} datagrams of 1000 bytes from the peer, ${relayed() - start} relayed to the client`);
      // Reading again, the client finds its connection closed.
      sock.resume();
      await Promise.race([closed, new Promise((_, reject) => setTimeout(() => reject(new Error('the client never saw its connection close')), 10_000))]);

      const other = await tcpClient(mode === 'tcp' ? plane.tcpPort : plane.tlsPort, ca);
      expect(parse(await other.call(request(Method.binding))).cls).toBe(StunClass.success);
      await other.close();
    } finally {
      sock.destroy();
      await p.close();
    }
  }, 30_000);
});
