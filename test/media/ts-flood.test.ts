/**
 * Issue 9 item 8 on the wire: a bad-tag flood at the TypeScript data plane is dropped before the
 * AEAD open and counted, from one source address (127.0.0.2), while the call's proven path is
 * served and a roam from a new address still gets through. The same flood with the guard off
 * reaches the open (every cell `forged`): the guard, not luck, is what drops them. Every datagram
 * sent is accounted for: accepted, dropped by the core by reason, or dropped by the kernel.
 */
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { DROP_FORGED, DROP_THROTTLED } from '../../src/media/core/media-core.js';
import type { CellCore } from '../../src/media/dataplane/cell-core.js';
import type { DataPlane } from '../../src/media/dataplane/data-plane.js';
import { startTsDataPlane } from '../../src/media/dataplane/ts-data-plane.js';
import { registerMediaMetrics } from '../../src/media/server/media-metrics.js';
import { MetricsRegistry } from '../../src/observability/metrics.js';
import { coreOptions, FakeClient, room } from './core-helpers.js';
import { sleep } from './harness.js';

const FLOOD = 3000;
const guard = { perSourcePerSec: 50, perSessionPerSec: 200, maxSources: 1000 };

let sockets: Socket[] = [];
let planes: DataPlane[] = [];
afterEach(async () => {
  for (const s of sockets) s.close();
  for (const p of planes) await p.close();
  sockets = [];
  planes = [];
});

async function udp(host: string): Promise<Socket> {
  const s = createSocket('udp4');
  sockets.push(s);
  await new Promise<void>((r) => s.bind(0, host, () => r()));
  return s;
}

const send = (s: Socket, cell: Buffer, port: number): Promise<void> => new Promise((r) => s.send(cell, port, '127.0.0.1', () => r()));

async function start(withGuard: boolean): Promise<{ dp: DataPlane; a: FakeClient }> {
  const dp = await startTsDataPlane({
    core: coreOptions(),
    host: '127.0.0.1',
    udpPort: 0,
    onClosed: () => undefined,
    recvBufferBytes: 4 << 20,
    ...(withGuard ? { floodGuard: guard } : {}),
  });
  planes.push(dp);
  const core = { join: (r: Uint8Array, p: string, rx: Uint8Array, tx: Uint8Array) => dp.join(r, p, rx, tx) } as unknown as CellCore;
  const a = new FakeClient(core, room(1), 'audio', 0);
  new FakeClient(core, room(1), 'audio', 0); // a peer, so the room is a call
  return { dp, a };
}

/** Waits (bounded) until the plane has accounted for `n` datagrams: accepted + core drops + kernel drops. */
async function accounted(dp: DataPlane, n: number): Promise<number> {
  const seen = (): number => dp.core.stats.cellsIn + [...dp.core.stats.drops].reduce((x, y) => x + y, 0) + (dp.counters().kernelDrops ?? 0);
  for (let t = 0; t < 100 && seen() < n; t++) await sleep(50);
  return seen();
}

/** Bad-tag cells for `a`'s session: right length, fresh counters, random body and tag. */
function badTags(a: FakeClient, n: number): Buffer[] {
  return Array.from({ length: n }, (_, i) => {
    const c = randomBytes(a.join.profile.upBytes + 28);
    c.writeUInt32BE(a.join.session, 0);
    c.writeUInt32BE(0, 4);
    c.writeUInt32BE(1_000_000 + i, 8);
    return c;
  });
}

async function flood(from: Socket, cells: Buffer[], port: number): Promise<void> {
  for (let i = 0; i < cells.length; i += 250) {
    await Promise.all(cells.slice(i, i + 250).map((c) => send(from, c, port)));
    await sleep(2);
  }
}

describe('TypeScript data plane under a bad-tag flood', () => {
  it('guard on: the flood is throttled before the open and counted; the proven path and a roam are served', async () => {
    const { dp, a } = await start(true);
    const metrics = new MetricsRegistry();
    registerMediaMetrics(metrics, dp.core, () => ({ ...dp.counters(), wsBackpressureDrops: 0 }));
    const legit = await udp('127.0.0.1');
    const attacker = await udp('127.0.0.2');
    await send(legit, a.cell(), dp.udpPort); // proves the path
    await accounted(dp, 1);
    expect(dp.core.stats.cellsIn).toBe(1);

    const t0 = performance.now();
    const during = flood(attacker, badTags(a, FLOOD), dp.udpPort);
    let legitSent = 1;
    for (let i = 0; i < 10; i++, legitSent++) await send(legit, a.cell(), dp.udpPort);
    await during;
    expect(await accounted(dp, FLOOD + legitSent)).toBe(FLOOD + legitSent);
    // Measured once the relay has handled every datagram: its bucket refilled for at most this long
    // (the kernel queue is still being read after the last send, slowly under ASan).
    const seconds = (performance.now() - t0) / 1000;
    const s = dp.core.stats;
    const kernel = dp.counters().kernelDrops ?? 0;
    const acceptedDuring = s.cellsIn;
    const roamsBefore = dp.counters().roams;

    // The flood is over and every datagram accounted for: the proven path is served, and a roam (the
    // same session from a new port; its source bucket is not the attacker's) is taken, whatever the
    // kernel dropped while the flood ran.
    for (let i = 0; i < 3; i++, legitSent++) await send(legit, a.cell(), dp.udpPort);
    const roamed = await udp('127.0.0.1');
    await send(roamed, a.cell(), dp.udpPort);
    legitSent++;
    const total = FLOOD + legitSent;
    expect(await accounted(dp, total)).toBe(total);
    console.log(`[ts flood, guard on] ${FLOOD} bad tags over ${seconds.toFixed(2)} s: throttled ${s.drops[DROP_THROTTLED]}, opened (forged) ${s.drops[DROP_FORGED]}, kernel drops ${kernel}; legit accepted during the flood ${acceptedDuring}/${legitSent - 4}, after it ${s.cellsIn - acceptedDuring}/4`);
    expect(s.cellsIn - acceptedDuring).toBe(4);
    expect(dp.counters().roams - roamsBefore).toBe(1);
    // at most the source's burst plus its rate over the run reached the open
    expect(s.drops[DROP_FORGED]).toBeLessThanOrEqual(guard.perSourcePerSec * (1 + seconds) + 1);
    expect(s.drops[DROP_FORGED]! + s.drops[DROP_THROTTLED]! + kernel).toBeGreaterThanOrEqual(FLOOD);
    expect(s.drops[DROP_THROTTLED]).toBeGreaterThan(FLOOD - guard.perSourcePerSec * (1 + seconds) - kernel - 1);
    expect(metrics.render()).toMatch(new RegExp(`^xrelay_media_cells_dropped_total\\{reason="throttled"\\} ${s.drops[DROP_THROTTLED]}$`, 'm'));
  });

  it('guard off (the baseline): the same flood reaches the AEAD open, every cell of it', async () => {
    const { dp, a } = await start(false);
    const attacker = await udp('127.0.0.2');
    await flood(attacker, badTags(a, FLOOD), dp.udpPort);
    expect(await accounted(dp, FLOOD)).toBe(FLOOD);
    const s = dp.core.stats;
    const kernel = dp.counters().kernelDrops ?? 0;
    console.log(`[ts flood, guard off] ${FLOOD} bad tags: opened (forged) ${s.drops[DROP_FORGED]}, kernel drops ${kernel}`);
    expect(s.drops[DROP_THROTTLED]).toBe(0);
    expect(s.drops[DROP_FORGED]! + kernel).toBe(FLOOD);
  });
});
