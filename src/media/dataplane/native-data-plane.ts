/**
 * The native data plane: the addon's thread owns the UDP socket (recvmmsg/sendmmsg), the hop
 * crypto, anti-replay, fan-out and the pacer (native/src/udp_io.cc over cell_core.cc). JS keeps
 * the control plane: joins go through NativeCellCore under the core's mutex, WebSocket cells are
 * fed in with receiveExternal(), and once per tick the native thread hands back, in one batch, the
 * cells due on WebSocket paths and the sessions that closed. That hand-off is bounded (addon.cc,
 * kMaxPendingBatches): while JS has 32 batches not yet taken, a tick's WebSocket cells are dropped
 * in the thread and counted (`externalDrops`, reported with the next batch); closes always go.
 */
import { CLOSE_LEAVE, type JoinError, type JoinResult } from '../core/media-core.js';
import type { DataPlane, DataPlaneCounters, DataPlaneOptions, ExternalSink } from './data-plane.js';
import type { NativeAddon } from '../../native/addon.js';
import { ExternalSinks } from './external-sinks.js';
import { NativeCellCore } from './native-core.js';

/** Socket buffers asked for (the kernel caps them at net.core.{r,w}mem_max). */
const SOCKET_BUFFER_BYTES = 4 << 20;

export function startNativeDataPlane(addon: NativeAddon, opts: DataPlaneOptions): DataPlane {
  const core = new NativeCellCore(addon, opts.core);
  const h = core.handle;
  // The shared path table (external-sinks.ts) for WebSocket paths; UDP paths live in the native thread.
  const sinks = new ExternalSinks();
  let handOffDrops = 0;
  let closed = false;

  const onBatch = (cells: Buffer, meta: Int32Array, closes: Int32Array, droppedCells: number): void => {
    handOffDrops += droppedCells;
    if (closed) return;
    for (let i = 0; i < closes.length; i += 2) {
      sinks.forget(closes[i]!);
      opts.onClosed(closes[i]!, closes[i + 1]!);
    }
    for (let i = 0; i < meta.length; i += 3) sinks.send(meta[i]!, cells.subarray(meta[i + 1]!, meta[i + 1]! + meta[i + 2]!));
  };
  const udpPort = h.startIo(opts.host, opts.udpPort, SOCKET_BUFFER_BYTES, SOCKET_BUFFER_BYTES, onBatch);

  return {
    kind: 'native',
    core,
    udpPort,
    now: () => addon.monotonicMs(),
    join(roomId: Uint8Array, profileName: string, rx: Uint8Array, tx: Uint8Array): JoinResult | JoinError {
      const j = core.join(roomId, profileName, rx, tx, NaN);
      if (typeof j !== 'string') sinks.forget(j.index);
      return j;
    },
    receiveExternal(cell: Uint8Array, sink: ExternalSink): number {
      const index = h.receiveExternal(cell);
      // Native counts UDP <-> external moves; the table counts a move between two external sinks.
      // JS does not see a native move to UDP, so the table keeps the old sink across it: sink A ->
      // UDP -> sink B counts 3 roams here against 2 on the TypeScript plane (native must report it).
      if (index >= 0) sinks.use(index, sink);
      return index;
    },
    forgetSink(sink: ExternalSink): void {
      sinks.forgetSink(sink, (index) => h.forgetPath(index));
    },
    end(index: number): boolean {
      // The I/O thread does not report a close asked from JS: onClosed is called here.
      if (closed || !h.leave(index)) return false;
      sinks.forget(index);
      opts.onClosed(index, CLOSE_LEAVE);
      return true;
    },
    counters(): DataPlaneCounters {
      const io = core.ioStats();
      return { roams: io.roams + sinks.roams, unroutable: io.unroutable + sinks.unroutable, externalDrops: handOffDrops, native: io };
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      h.stopIo();
    },
  };
}
