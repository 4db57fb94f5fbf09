/**
 * The one path table (external-sinks.ts, and CellPaths on top of it) through both data planes:
 * which sink a session's cells go to, what counts as a roam (sink to sink counted by the table,
 * UDP <-> sink by the UDP half's owner: CellPaths or the native core), forgetting a closed sink
 * (cells then count as unroutable) and forgetting a session that left (a reused index starts with
 * no path, so its first path is no roam). Real sockets on 127.0.0.1, the real cores.
 */
import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { CONTROL_LEAVE } from '../../src/media/codec/control-records.js';
import type { CellCore } from '../../src/media/dataplane/cell-core.js';
import type { DataPlane, DataPlaneOptions } from '../../src/media/dataplane/data-plane.js';
import { startNativeDataPlane } from '../../src/media/dataplane/native-data-plane.js';
import { startTsDataPlane } from '../../src/media/dataplane/ts-data-plane.js';
import { coreOptions, FakeClient, room } from './core-helpers.js';
import { sleep } from './harness.js';
import { hasNative, nativeAddon } from './plane-select.js';

class CollectingSink {
  cells: Buffer[] = [];
  send(cell: Buffer): void {
    this.cells.push(Buffer.from(cell));
  }
}

let planes: DataPlane[] = [];
let sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets) s.close();
  for (const p of planes) await p.close();
  sockets = [];
  planes = [];
});

async function until(cond: () => boolean, maxMs = 5000): Promise<boolean> {
  for (let t = 0; t < maxMs / 20 && !cond(); t++) await sleep(20);
  return cond();
}

async function start(kind: 'typescript' | 'native', closed: number[]): Promise<DataPlane> {
  const opts: DataPlaneOptions = { core: coreOptions(), host: '127.0.0.1', udpPort: 0, onClosed: (i) => closed.push(i) };
  const dp = kind === 'native' ? startNativeDataPlane(nativeAddon(), opts) : await startTsDataPlane(opts);
  planes.push(dp);
  return dp;
}

const clientsOn = (dp: DataPlane): CellCore => ({ join: (r: Uint8Array, p: string, rx: Uint8Array, tx: Uint8Array) => dp.join(r, p, rx, tx) }) as unknown as CellCore;

async function sendUdp(cell: Buffer, port: number): Promise<void> {
  const s = createSocket('udp4');
  sockets.push(s);
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  await new Promise<void>((r) => s.send(cell, port, '127.0.0.1', () => r()));
}

const planeKinds = hasNative ? (['typescript', 'native'] as const) : (['typescript'] as const);

describe.each(planeKinds)('the path table on the %s data plane', (kind) => {
  it('routes to the latest accepted sink, counts each path change once, forgets a closed sink and a left session', async () => {
    const closed: number[] = [];
    const dp = await start(kind, closed);
    const a = new FakeClient(clientsOn(dp), room(1), 'audio', 0);
    const b = new FakeClient(clientsOn(dp), room(1), 'audio', 0); // a peer, so the room is a call
    const [sinkA, sinkB, sinkC] = [new CollectingSink(), new CollectingSink(), new CollectingSink()];
    const roams = (): number => dp.counters().roams;

    expect(dp.receiveExternal(a.cell(), sinkA)).toBe(a.join.index);
    expect(dp.receiveExternal(b.cell(), sinkC)).toBe(b.join.index);
    expect(roams()).toBe(0); // a first path is no roam
    expect(dp.receiveExternal(a.cell(), sinkA)).toBe(a.join.index);
    expect(roams()).toBe(0); // the same sink again is no roam
    expect(await until(() => sinkA.cells.length > 0)).toBe(true);

    expect(dp.receiveExternal(a.cell(), sinkB)).toBe(a.join.index);
    expect(roams()).toBe(1); // sink to sink
    const onB = sinkB.cells.length;
    const onA = sinkA.cells.length;
    expect(await until(() => sinkB.cells.length > onB)).toBe(true);
    await sleep(100); // let any cells already handed to JS for sink A drain
    const onAAfter = sinkA.cells.length;
    await sleep(200);
    expect(sinkA.cells.length).toBe(onAAfter); // a's cells no longer go to sink A
    console.log(`[path table, ${kind}] sink A got ${onA}..${onAAfter} cells, then none after the move to sink B`);

    await sendUdp(a.cell(), dp.udpPort);
    expect(await until(() => roams() === 2)).toBe(true); // sink to UDP
    expect(dp.receiveExternal(a.cell(), sinkB)).toBe(a.join.index);
    expect(roams()).toBe(3); // UDP back to the sink

    const unroutable0 = dp.counters().unroutable;
    dp.forgetSink(sinkB);
    const onBForgotten = sinkB.cells.length;
    expect(await until(() => dp.counters().unroutable > unroutable0)).toBe(true); // a's due cells have no path now
    await sleep(100);
    const onBLater = sinkB.cells.length;
    await sleep(200);
    expect(sinkB.cells.length).toBe(onBLater);
    console.log(`[path table, ${kind}] sink B: ${onBForgotten} cells at forgetSink, ${onBLater} after; unroutable +${dp.counters().unroutable - unroutable0}`);

    expect(dp.receiveExternal(a.cell([], Uint8Array.of(CONTROL_LEAVE)), sinkA)).toBe(a.join.index);
    expect(await until(() => closed.includes(a.join.index))).toBe(true);
    const c = new FakeClient(clientsOn(dp), room(1), 'audio', 0);
    expect(c.join.index).toBe(a.join.index); // the freed index is reused
    const roamsBefore = roams();
    expect(dp.receiveExternal(c.cell(), sinkC)).toBe(c.join.index);
    expect(roams()).toBe(roamsBefore); // the reused index had no path: its first one is no roam
  });
});
