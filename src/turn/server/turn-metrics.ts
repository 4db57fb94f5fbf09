/**
 * Exports the core's plain counters as Prometheus metrics at scrape time. Labels are closed sets
 * (methods, STUN error codes, drop reasons, directions); never addresses or usernames.
 *
 * On the native data path the snapshot is mergeNativeStats' (native-turn.ts): the native counters
 * are already added into the core's under the same names and labels, and its `native` field holds
 * the native thread's own I/O counters, exported by the `xrelay_turn_native_*` metrics (registered at the
 * first scrape that sees them, so the TypeScript path does not show them).
 */
import type { Counter, MetricsRegistry } from '../../observability/metrics.js';
import type { TurnStats } from '../core/types.js';
import { registerBatchIoMetrics } from '../../native/io-metrics.js';
import type { MergedTurnStats, NativeTurnIo } from './native-turn.js';
import type { TcpCloseReason } from './tcp-clients.js';

type Sync = (counter: Counter, values: Record<string, number>) => void;

/** What the host counts beside the core: gauges, send failures and the TCP/TLS listeners' closes. */
export interface TurnHostCounts {
  allocations: number;
  tcp: number;
  sendErrors: number;
  /** Connections the relay closed, by reason (absent when TCP and TLS are off). */
  tcpClosed?: Readonly<Record<TcpCloseReason, number>>;
  tcpAcceptErrors?: number;
}

export function registerTurnMetrics(metrics: MetricsRegistry, snapshot: TurnStats | (() => TurnStats), gauges: () => TurnHostCounts): void {
  const requests = metrics.counter('xrelay_turn_requests_total', 'TURN/STUN requests received, by method.', 'method');
  const errors = metrics.counter('xrelay_turn_errors_total', 'TURN error responses sent, by STUN error code.', 'code');
  const dropped = metrics.counter('xrelay_turn_dropped_total', 'TURN packets dropped without an answer, by reason.', 'reason');
  const packets = metrics.counter('xrelay_turn_relayed_packets_total', 'Packets relayed, by direction.', 'direction');
  const bytes = metrics.counter('xrelay_turn_relayed_bytes_total', 'Payload bytes relayed, by direction.', 'direction');
  const allocations = metrics.gauge('xrelay_turn_allocations', 'Live TURN allocations.');
  const tcp = metrics.gauge('xrelay_turn_tcp_connections', 'Open TURN TCP client connections.');
  const sendErrors = metrics.counter('xrelay_turn_send_errors_total', 'Sends refused by the socket layer or dropped for a slow TCP reader.');
  const tcpClosed = metrics.counter(
    'xrelay_turn_tcp_closed_total',
    'TURN TCP/TLS connections the relay closed, by reason: idle (no allocation within turn.tcpIdleTimeoutSec), tls_handshake (handshake unfinished by then), evicted (room made at a cap), refused (a cap with every connection holding an allocation), framing, tls_error, slow_reader.',
    'reason',
  );
  const acceptErrors = metrics.counter('xrelay_turn_tcp_accept_errors_total', 'TURN TCP/TLS accepts that failed (EMFILE, ENFILE...); the listener keeps serving.');
  let native: ((io: NativeTurnIo) => void) | undefined;
  const sync: Sync = (counter, values) => {
    for (const [label, value] of Object.entries(values)) counter.follow(value, label);
  };
  metrics.onCollect(() => {
    const stats = typeof snapshot === 'function' ? snapshot() : snapshot;
    sync(requests, stats.requests);
    sync(errors, stats.errors);
    sync(dropped, stats.dropped);
    sync(packets, { to_peer: stats.relayedPackets.toPeer, to_client: stats.relayedPackets.toClient });
    sync(bytes, { to_peer: stats.relayedBytes.toPeer, to_client: stats.relayedBytes.toClient });
    const io = (stats as Partial<MergedTurnStats>).native;
    if (io !== undefined) {
      native ??= registerNativeTurnMetrics(metrics, dropped, sync);
      native(io);
    }
    const g = gauges();
    sync(sendErrors, { '': g.sendErrors });
    if (g.tcpClosed !== undefined) sync(tcpClosed, g.tcpClosed);
    sync(acceptErrors, { '': g.tcpAcceptErrors ?? 0 });
    allocations.set(g.allocations);
    tcp.set(g.tcp);
  });
}

/**
 * The native TURN thread's I/O counters. Its send drops are also in xrelay_turn_send_errors_total (the
 * host adds them in), and its lost hand-ups in xrelay_turn_dropped_total{reason="backlog"}.
 */
function registerNativeTurnMetrics(metrics: MetricsRegistry, dropped: Counter, sync: Sync): (io: NativeTurnIo) => void {
  const batchIo = registerBatchIoMetrics(metrics, {
    prefix: 'xrelay_turn_native_',
    who: 'the native TURN data path',
    unit: 'datagrams',
    waitMs: 1,
    dropNote: 'Also counted in xrelay_turn_send_errors_total.',
  });
  const handedUp = metrics.counter('xrelay_turn_native_handed_up_total', 'Listener datagrams the native data path handed to the TypeScript core (requests, messages the fast path does not take).');
  return (io) => {
    batchIo(io);
    sync(handedUp, { '': io.handedUp });
    // Native only: the TS path reads with Node's dgram, which never cuts a datagram short.
    sync(dropped, { truncated: io.truncated });
  };
}
