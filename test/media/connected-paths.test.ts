/**
 * The TypeScript plane's connected per-path sockets: once a call's path is proven, its datagrams
 * wait in their own kernel queue. The relay's event loop is blocked (spawnSync) while a child
 * process floods the shared socket (a tiny 4 KiB receive buffer) from 127.0.0.2 and sends the
 * call's next 20 cells from the call's own address:port: with connected paths every one of the
 * 20 is accepted afterwards while the kernel drops most of the flood; without them the flood and
 * the call share one queue and the call loses most of its cells. Both runs in this file, so the
 * difference is the feature's.
 */
import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { CellCore } from '../../src/media/dataplane/cell-core.js';
import type { DataPlane } from '../../src/media/dataplane/data-plane.js';
import { startTsDataPlane } from '../../src/media/dataplane/ts-data-plane.js';
import { coreOptions, FakeClient, room } from './core-helpers.js';
import { sleep } from './harness.js';

const FLOOD = 3000;
const LEGIT = 20;
let planes: DataPlane[] = [];
afterEach(async () => {
  for (const p of planes) await p.close();
  planes = [];
});

async function until(cond: () => boolean, maxMs = 5000): Promise<void> {
  for (let t = 0; t < maxMs / 20 && !cond(); t++) await sleep(20);
}

/** Child: the call's socket (on `legitPort`, freed by the parent just before) and a flood socket on 127.0.0.2. */
function floodWithCall(relayPort: number, legitPort: number, legit: Buffer[]): { flood: number; legit: number } {
  const script = `
    const dgram = require('node:dgram');
    const cells = ${JSON.stringify(legit.map((c) => c.toString('hex')))}.map((h) => Buffer.from(h, 'hex'));
    const call = dgram.createSocket('udp4');
    const flood = dgram.createSocket('udp4');
    let pending = ${FLOOD} + cells.length, sent = { flood: 0, legit: 0 };
    const done = (k) => (e) => { if (!e) sent[k]++; if (--pending === 0) { process.stdout.write(JSON.stringify(sent)); call.close(); flood.close(); } };
    call.bind(${legitPort}, '127.0.0.1', () => flood.bind(0, '127.0.0.2', () => {
      const junk = Buffer.alloc(${legit[0]!.length});
      for (let i = 0; i < ${FLOOD}; i++) {
        require('node:crypto').randomFillSync(junk);
        flood.send(Buffer.from(junk), ${relayPort}, '127.0.0.1', done('flood'));
        if (i % ${Math.floor(FLOOD / LEGIT)} === 0 && cells.length > 0) call.send(cells.shift(), ${relayPort}, '127.0.0.1', done('legit'));
      }
    }));`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) throw new Error(`flood child failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as { flood: number; legit: number };
}

async function run(connected: boolean): Promise<{ accepted: number; kernel: number; sent: { flood: number; legit: number } }> {
  const dp = await startTsDataPlane({
    core: coreOptions(),
    host: '127.0.0.1',
    udpPort: 0,
    onClosed: () => undefined,
    recvBufferBytes: 4096,
    floodGuard: { perSourcePerSec: 50, perSessionPerSec: 200, maxSources: 1000 },
    ...(connected ? { connectedPaths: 16 } : {}),
  });
  planes.push(dp);
  const core = { join: (r: Uint8Array, p: string, rx: Uint8Array, tx: Uint8Array) => dp.join(r, p, rx, tx) } as unknown as CellCore;
  const a = new FakeClient(core, room(2), 'audio', 0);
  new FakeClient(core, room(2), 'audio', 0);
  // prove the path from a socket whose port the child then takes over
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const legitPort = s.address().port;
  await new Promise<void>((r) => s.send(a.cell(), dp.udpPort, '127.0.0.1', () => r()));
  await until(() => dp.core.stats.cellsIn === 1 && (!connected || dp.counters().connectedReady === 1));
  expect(dp.core.stats.cellsIn).toBe(1);
  if (connected) expect(dp.counters().connectedPaths).toBe(1);
  await new Promise<void>((r) => s.close(() => r()));
  const legit = Array.from({ length: LEGIT }, () => a.cell([randomBytes(40)]));
  const kernel0 = dp.counters().kernelDrops ?? 0;
  const sent = floodWithCall(dp.udpPort, legitPort, legit);
  const seen = (): number => dp.core.stats.cellsIn + [...dp.core.stats.drops].reduce((x, y) => x + y, 0) + (dp.counters().kernelDrops ?? 0) - kernel0;
  await until(() => seen() >= 1 + sent.flood + sent.legit);
  return { accepted: dp.core.stats.cellsIn - 1, kernel: (dp.counters().kernelDrops ?? 0) - kernel0, sent };
}

describe.runIf(process.platform === 'linux')('TypeScript plane: connected path sockets', () => {
  it('SO_REUSEADDR on the cell port still refuses a port another relay holds (EADDRINUSE at start)', async () => {
    const opts = { core: coreOptions(), host: '127.0.0.1', onClosed: () => undefined, connectedPaths: 4 };
    const first = await startTsDataPlane({ ...opts, udpPort: 0 });
    planes.push(first);
    const err = await startTsDataPlane({ ...opts, udpPort: first.udpPort }).then(
      (p) => (planes.push(p), undefined),
      (e: NodeJS.ErrnoException) => e,
    );
    expect(err?.code).toBe('EADDRINUSE');
  });

  it('keep a proven call\'s datagrams out of the flooded shared queue', async () => {
    const off = await run(false);
    const on = await run(true);
    console.log(`[connected paths] ${FLOOD} junk + ${LEGIT} call cells while the relay's loop is blocked, shared queue 4 KiB: ` +
      `one socket: call cells accepted ${off.accepted}/${LEGIT}, kernel drops ${off.kernel}; connected path socket: accepted ${on.accepted}/${LEGIT}, kernel drops ${on.kernel}`);
    expect(on.sent).toEqual({ flood: FLOOD, legit: LEGIT });
    expect(off.sent).toEqual({ flood: FLOOD, legit: LEGIT });
    expect(on.kernel).toBeGreaterThan(FLOOD / 2);
    expect(on.accepted).toBe(LEGIT);
    expect(off.accepted).toBeLessThan(LEGIT / 2);
  });
});
