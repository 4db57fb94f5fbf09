/**
 * The native I/O thread with more cells per tick than one send chunk (256): it builds the tick's
 * cells under the core's lock, seals and sends them a chunk at a time outside it, and reads input
 * between chunks (native/src/udp_io.cc). Over real UDP on loopback, 600 sessions in rooms of 2:
 * every cell that comes back opens with its session's key and has the profile's size, every
 * session is served, and each record reaches the peer. No timing assertions: waits are for
 * conditions, with a generous deadline.
 */
import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import type { DataPlane } from '../../src/media/dataplane/data-plane.js';
import { startNativeDataPlane } from '../../src/media/dataplane/native-data-plane.js';
import { NativeCellCore } from '../../src/media/dataplane/native-core.js';
import { coreOptions, FakeClient } from './core-helpers.js';
import { hasNative, nativeAddon } from './plane-select.js';

const N = 600;

async function until(what: string, cond: () => boolean, deadlineMs = 10_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.skipIf(!hasNative)('native data plane: ticks of several send chunks', () => {
  let dp: DataPlane | undefined;
  let sock: Socket | undefined;
  afterEach(async () => {
    sock?.close();
    await dp?.close();
    sock = dp = undefined;
  });

  it(`serves ${N} sessions: every cell opens, every session is served, records reach the peer`, async () => {
    dp = startNativeDataPlane(nativeAddon(), { core: coreOptions({ maxSessions: 2000, idleTimeoutMs: 60_000 }), host: '127.0.0.1', udpPort: 0, onClosed: () => undefined });
    const core = dp.core;
    const clients = Array.from({ length: N }, (_, i) => {
      const room = new Uint8Array(32);
      new DataView(room.buffer).setUint32(0, i >> 1);
      return new FakeClient(core, room, 'audio', NaN);
    });
    const byId = new Map(clients.map((c, i) => [c.join.session, i]));
    const cells = new Array<number>(N).fill(0);
    const got = new Array<string | undefined>(N);
    let bad = 0;
    // A tick brings 600 cells at once: room for all of them (the kernel caps it at rmem_max).
    const s = createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
    sock = s;
    s.on('message', (msg: Buffer) => {
      const i = byId.get(msg.readUInt32BE(0));
      if (i === undefined || msg.length !== clients[i]!.join.profile.downBytes + 28) return void bad++;
      try {
        const { records } = clients[i]!.open(msg);
        cells[i]!++;
        for (const r of records) if (r.slot !== 0xffff) got[i] = r.data.toString();
      } catch {
        bad++;
      }
    });
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
    const send = (b: Buffer): void => s.send(b, dp!.udpPort, '127.0.0.1');

    // Dummies first: every session is confirmed and learns its path.
    for (const c of clients) send(c.cell());
    await until('a cell for every session', () => cells.every((n) => n > 0));
    // Then one record from each session, for its peer (index ^ 1).
    clients.forEach((c, i) => send(c.cell([Buffer.from(`from ${i}`)])));
    await until('every record at its peer', () => got.every((g, i) => g === `from ${i ^ 1}`));

    expect(bad).toBe(0);
    const io = (core as NativeCellCore).ioStats();
    expect(io.sendBatches).toBeGreaterThan(2);
    expect(io.kernelDrops).toBe(0);
  });
});
