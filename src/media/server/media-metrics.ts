/**
 * The media plane's /metrics: counters read from the core's and the paths' plain-number stats at
 * scrape time (the hot path bumps integers only). Labels come from closed sets (drop reasons,
 * close reasons, join results, cell kinds): never a room, session or address.
 */
import type { MetricsRegistry } from '../../observability/metrics.js';
import { CLOSE_REASONS, DROP_REASONS } from '../core/media-core.js';
import type { CellCore } from '../dataplane/cell-core.js';
import { registerBatchIoMetrics } from '../../native/io-metrics.js';
import type { NativeIoStats } from '../dataplane/native-core.js';
import type { PathCounters } from '../dataplane/cell-paths.js';

export interface MediaMetrics {
  joined(): void;
  refused(code: string): void;
}

/** `native`: the native data plane's I/O counters (DataPlaneCounters.native), absent on the TypeScript one. */
export function registerMediaMetrics(
  metrics: MetricsRegistry,
  core: CellCore,
  paths: () => (PathCounters & { wsRefused?: number; native?: NativeIoStats; kernelDrops?: number; socketErrors?: number; connectedPaths?: number }) | undefined,
): MediaMetrics {
  const cellsIn = metrics.counter('xrelay_media_cells_received_total', 'Cells accepted (authenticated, fresh, well-formed).');
  const dropped = metrics.counter('xrelay_media_cells_dropped_total', 'Cells dropped, by reason; never answered.', 'reason');
  const cellsOut = metrics.counter('xrelay_media_cells_sent_total', 'Cells sent by the pacer, real (records inside) or dummy.', 'kind');
  const recIn = metrics.counter('xrelay_media_records_received_total', 'End-to-end records received from senders.');
  const recOut = metrics.counter('xrelay_media_records_forwarded_total', 'End-to-end records delivered into receivers\' cells.');
  const qDrops = metrics.counter('xrelay_media_queue_drops_total', 'Records dropped from receiver queues (full: oldest first; stale: too old).', 'reason');
  const missed = metrics.counter('xrelay_media_pacer_missed_ticks_total', 'Ticks skipped because the pacer woke late (never sent as a burst).');
  const closes = metrics.counter('xrelay_media_sessions_closed_total', 'Sessions ended, by reason.', 'reason');
  const joins = metrics.counter('xrelay_media_joins_total', 'Join requests, by result.', 'result');
  const roams = metrics.counter('xrelay_media_path_changes_total', 'Sessions whose cells moved to a new address or transport (roaming).');
  const wsDrops = metrics.counter('xrelay_media_ws_backpressure_drops_total', 'Cells not sent to a WebSocket whose send buffer was full (media.wsMaxBufferedBytes), or, on the native data plane, dropped in its thread while JS was 32 ticks behind taking them.');
  const wsRefused = metrics.counter('xrelay_media_ws_refused_total', 'Cell WebSockets closed at open because their client address held media.wsMaxPerAddress already.');
  const unroutable = metrics.counter('xrelay_media_cells_unroutable_total', 'Cells due for a session with no known path (not sent).');
  let native: ((io: NativeIoStats) => void) | undefined;
  let tsKernel: ReturnType<typeof metrics.counter> | undefined;
  let tsErrors: ReturnType<typeof metrics.counter> | undefined;
  let tsConnected: ReturnType<typeof metrics.gauge> | undefined;
  const sessions = metrics.gauge('xrelay_media_sessions', 'Live media sessions.');
  const rooms = metrics.gauge('xrelay_media_rooms', 'Live rooms.');
  for (const r of DROP_REASONS.slice(1)) dropped.inc(0, r);
  metrics.onCollect(() => {
    const s = core.stats;
    cellsIn.follow(s.cellsIn);
    cellsOut.follow(s.cellsOut - s.dummyCellsOut, 'real');
    cellsOut.follow(s.dummyCellsOut, 'dummy');
    recIn.follow(s.recordsIn);
    recOut.follow(s.recordsOut);
    qDrops.follow(s.queueDrops, 'full');
    qDrops.follow(s.staleDrops, 'stale');
    missed.follow(s.missedTicks);
    DROP_REASONS.forEach((r, i) => i > 0 && dropped.follow(s.drops[i]!, r));
    CLOSE_REASONS.forEach((r, i) => i > 0 && closes.follow(s.closes[i]!, r));
    const p = paths();
    if (p !== undefined) {
      roams.follow(p.roams);
      wsDrops.follow(p.wsBackpressureDrops);
      wsRefused.follow(p.wsRefused ?? 0);
      unroutable.follow(p.unroutable);
      // TypeScript plane only (registered at the first scrape that sees them, as the native ones).
      if (p.kernelDrops !== undefined) {
        tsKernel ??= metrics.counter('xrelay_media_kernel_drops_total', "Cells the kernel dropped at the TypeScript data plane's full socket receive queue (read from /proc/net/udp at scrape time): the event loop could not keep up.");
        tsKernel.follow(p.kernelDrops);
      }
      if (p.socketErrors !== undefined) {
        tsErrors ??= metrics.counter('xrelay_media_udp_socket_errors_total', "Errors the TypeScript data plane's UDP socket reported (failed sends: EMSGSIZE, ENOBUFS, ICMP unreachable); the socket keeps serving.");
        tsErrors.follow(p.socketErrors);
      }
      if (p.connectedPaths !== undefined) {
        tsConnected ??= metrics.gauge('xrelay_media_connected_paths', 'Connected UDP sockets the TypeScript data plane holds for proven client paths (media.connectedPaths caps them).');
        tsConnected.set(p.connectedPaths);
      }
      if (p.native !== undefined) {
        native ??= registerNativeIoMetrics(metrics);
        native(p.native);
      }
    }
    sessions.set(core.sessionCount);
    rooms.set(core.roomCount);
  });
  return {
    joined: () => joins.inc(1, 'ok'),
    refused: (code) => joins.inc(1, code),
  };
}

/**
 * The native data plane's I/O thread counters, registered at the first scrape that sees them (so
 * the TypeScript plane, which has none of these, does not show them).
 */
function registerNativeIoMetrics(metrics: MetricsRegistry): (io: NativeIoStats) => void {
  const batchIo = registerBatchIoMetrics(metrics, { prefix: 'xrelay_media_native_', who: 'the native data plane', unit: 'cells', waitMs: 2 });
  const kernel = metrics.counter('xrelay_media_native_kernel_drops_total', "Cells the kernel dropped at the native data plane's full socket receive queue (overload shed before any work).");
  return (io) => {
    batchIo(io);
    kernel.follow(io.kernelDrops);
  };
}
