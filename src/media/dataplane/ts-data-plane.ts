/**
 * The TypeScript data plane: the sans-IO MediaCore, one node:dgram socket and a setTimeout pacer.
 * It reads the clock, moves bytes between the socket and the core, and schedules the next wake-up
 * the core asks for; everything else is the core. It serves when the native addon is unavailable
 * or disabled (XRELAY_NATIVE=0), and is the reference the native plane is tested against.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { MediaCore, SendBatch, type JoinError, type JoinResult } from '../core/media-core.js';
import { CellPaths } from '../server/cell-paths.js';
import type { DataPlane, DataPlaneCounters, DataPlaneOptions, ExternalSink } from './data-plane.js';

export async function startTsDataPlane(opts: DataPlaneOptions): Promise<DataPlane> {
  const core = new MediaCore(opts.core);
  const now = (): number => performance.now();
  const udp: Socket = createSocket({ type: opts.host.includes(':') ? 'udp6' : 'udp4', reuseAddr: false });
  const paths = new CellPaths(udp);
  const batch = new SendBatch();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const flush = (): void => {
    for (let i = 0; i < batch.closedCount; i++) {
      paths.forget(batch.closedIndexes[i]!);
      opts.onClosed(batch.closedIndexes[i]!, batch.closedReasons[i]!);
    }
    for (let i = 0; i < batch.count; i++) paths.send(batch.indexes[i]!, batch.cells[i]!);
    batch.reset();
  };
  const tick = (): void => {
    timer = undefined;
    if (closed) return;
    batch.reset();
    const wake = core.poll(now(), batch);
    flush();
    schedule(wake);
  };
  const schedule = (wake: number): void => {
    if (closed || wake === Infinity) return;
    // Timers fire at or after their delay, so round up: waking early would find nothing due.
    timer = setTimeout(tick, Math.max(0, Math.ceil(wake - now())));
  };
  const kick = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(tick, 0);
  };

  udp.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
    const index = core.receive(msg, now());
    if (index >= 0) paths.fromUdp(index, rinfo.address, rinfo.port);
  });
  udp.on('error', () => {
    // Per-destination errors (ICMP unreachable) surface here; the socket keeps serving.
  });
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(opts.udpPort, opts.host, () => {
      udp.off('error', reject);
      resolve();
    });
  });

  return {
    kind: 'typescript',
    core,
    udpPort: udp.address().port,
    now,
    join(roomId: Uint8Array, profileName: string, rx: Uint8Array, tx: Uint8Array): JoinResult | JoinError {
      const j = core.join(roomId, profileName, rx, tx, now());
      if (typeof j !== 'string') {
        paths.forget(j.index);
        kick();
      }
      return j;
    },
    receiveExternal(cell: Uint8Array, sink: ExternalSink): number {
      const index = core.receive(cell, now());
      if (index >= 0) paths.fromSink(index, sink);
      return index;
    },
    forgetSink: (sink) => paths.forgetSink(sink),
    counters: (): DataPlaneCounters => ({ roams: paths.counters.roams, unroutable: paths.counters.unroutable }),
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      await new Promise<void>((resolve) => udp.close(() => resolve()));
    },
  };
}
