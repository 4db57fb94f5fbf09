// Issue 9, item 4, as reported: 4 096 idle connections that never send a byte used to fill
// turn.maxTcpConnections and lock out every later TURN-over-TCP client. With the default caps
// (4 096 in all, 64 per address) and an idle timeout too long to help (60 s), coturn's
// turnutils_uclient still relays over TCP and TLS with 0% loss: first while 4 096 idle connections
// from 64 other loopback addresses hold every slot, then while 4 096 more come from its own address.
// Loopback only; prints the fd limit and how many the relay accepted. Skipped without coturn.
import { execSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TurnPlane } from '../../src/turn/server/turn-plane.js';
import { haveCoturn, runUclient, startPeer, uclientTotals } from './helpers/coturn.js';
import { startTestTurn } from './helpers/plane.js';
import { rawConnect, type RawConn } from './helpers/wire.js';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const ATTEMPTS = 4096;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Opens `n` connections, `batch` at a time, from `sources` round robin; failures to connect are counted, not thrown. */
async function flood(port: number, n: number, sources: string[], batch = 256): Promise<{ conns: RawConn[]; failed: number }> {
  const conns: RawConn[] = [];
  let failed = 0;
  for (let i = 0; i < n; i += batch) {
    const round = await Promise.allSettled(Array.from({ length: Math.min(batch, n - i) }, (_, k) => rawConnect(port, sources[(i + k) % sources.length])));
    for (const r of round) {
      if (r.status === 'fulfilled') conns.push(r.value);
      else failed++;
    }
  }
  return { conns, failed };
}

describe.skipIf(!haveCoturn)('TURN over TCP/TLS: no lockout by idle connections', () => {
  let plane: TurnPlane;
  let peer: Awaited<ReturnType<typeof startPeer>>;
  const held: RawConn[] = [];

  beforeAll(async () => {
    ({ plane } = await startTestTurn({ staticUsers: ['alice:secret1'], tcpIdleTimeoutSec: 60, ...{ tls: true, tlsPort: 0, tlsCert: fixture('turn-test-cert.pem'), tlsKey: fixture('turn-test-key.pem') } }));
    peer = await startPeer();
    console.log(`fd limit (ulimit -n): ${execSync('sh -c "ulimit -n"').toString().trim()}`);
  });
  afterAll(async () => {
    for (const c of held) c.socket.destroy();
    await peer.stop();
    await plane.close();
  });

  async function uclientOk(tls: boolean): Promise<void> {
    const args = ['-t', ...(tls ? ['-S'] : []), '-u', 'alice', '-w', 'secret1', '-p', String(tls ? plane.tlsPort : plane.tcpPort), '-e', '127.0.0.1', '-r', String(peer.port), '-n', '50', '-m', '2', '-l', '120', '-z', '5', '-c', '127.0.0.1'];
    const { code, out } = await runUclient(args);
    const { sent, received } = uclientTotals(out);
    console.log(`  turnutils_uclient -t${tls ? ' -S' : ''}: exit ${code}, sent ${sent}, received ${received}`);
    expect(code, out.slice(-1500)).toBe(0);
    expect(sent).toBe(100);
    expect(received).toBe(sent);
    expect(out).toMatch(/Total lost packets 0 \(0\.0+%\)/);
  }

  /** Connections the relay has taken in (open, or closed by it at admission) so far. */
  const seen = (): number => {
    const s = plane.tcpStats();
    return s.open + s.closed.evicted + s.closed.refused;
  };

  /** Counts before a flood, for `settle`. */
  const mark = (): { seen: number; evicted: number; refused: number; rss: number } => ({ seen: seen(), ...plane.tcpStats().closed, rss: process.memoryUsage().rss });

  /** Waits (up to 5 s) for the relay to have seen every attempt since `before`, then reports. */
  async function settle(label: string, before: ReturnType<typeof mark>, attempted: number, conns: RawConn[], failed: number): Promise<void> {
    for (let i = 0; i < 250 && seen() - before.seen < attempted - failed; i++) await sleep(20);
    await sleep(200); // let the evictions' closes reach the client side
    const s = plane.tcpStats();
    const openClientSide = conns.filter((c) => !c.isClosed()).length;
    const admitted = seen() - before.seen - (s.closed.refused - before.refused);
    const rssMiB = (process.memoryUsage().rss - before.rss) / 2 ** 20;
    console.log(
      `${label}: ${attempted} attempted (${failed} failed to connect); the relay admitted ${admitted}, refused ${s.closed.refused - before.refused}, ` +
        `evicted ${s.closed.evicted - before.evicted} to make room, and holds ${s.open}; ${openClientSide} of these still open client side; ` +
        `RSS of this process (relay and clients) ${rssMiB >= 0 ? '+' : ''}${rssMiB.toFixed(0)} MiB`,
    );
  }

  it(`uclient relays over TCP and TLS while ${ATTEMPTS} idle connections from 64 other addresses hold every slot`, async () => {
    const sources = Array.from({ length: 64 }, (_, i) => `127.0.0.${i + 2}`);
    const base = mark();
    const { conns, failed } = await flood(plane.tcpPort, ATTEMPTS, sources);
    held.push(...conns);
    await settle('other addresses', base, ATTEMPTS, conns, failed);
    expect(plane.tcpStats().open).toBe(4096); // the default total cap, reached
    await uclientOk(false);
    await uclientOk(true);
    expect(plane.tcpStats().open).toBeLessThanOrEqual(4096);
    expect(plane.tcpStats().closed.evicted).toBeGreaterThanOrEqual(1);
  }, 120_000);

  it(`... and while ${ATTEMPTS} more come from uclient's own address (127.0.0.1)`, async () => {
    const base = mark();
    const { conns, failed } = await flood(plane.tlsPort, ATTEMPTS, ['127.0.0.1']);
    held.push(...conns);
    await settle('same address (TLS port, no handshake)', base, ATTEMPTS, conns, failed);
    const s = plane.tcpStats();
    expect(s.open).toBeLessThanOrEqual(4096);
    expect(conns.filter((c) => !c.isClosed()).length).toBeLessThanOrEqual(64); // the per-address cap held
    expect(s.closed.evicted - base.evicted).toBeGreaterThanOrEqual(ATTEMPTS - 64 - failed);
    await uclientOk(false);
    await uclientOk(true);
  }, 120_000);
});
