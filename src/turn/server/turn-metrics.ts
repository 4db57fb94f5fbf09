/**
 * Exports the core's plain counters as Prometheus metrics at scrape time. Labels are closed sets
 * (methods, STUN error codes, drop reasons, directions); never addresses or usernames.
 */
import type { MetricsRegistry } from '../../observability/metrics.js';
import type { TurnStats } from '../core/types.js';

export function registerTurnMetrics(metrics: MetricsRegistry, snapshot: TurnStats | (() => TurnStats), gauges: () => { allocations: number; tcp: number; sendErrors: number }): void {
  const requests = metrics.counter('turn_requests_total', 'TURN/STUN requests received, by method.', 'method');
  const errors = metrics.counter('turn_errors_total', 'TURN error responses sent, by STUN error code.', 'code');
  const dropped = metrics.counter('turn_dropped_total', 'TURN packets dropped without an answer, by reason.', 'reason');
  const packets = metrics.counter('turn_relayed_packets_total', 'Packets relayed, by direction.', 'direction');
  const bytes = metrics.counter('turn_relayed_bytes_total', 'Payload bytes relayed, by direction.', 'direction');
  const allocations = metrics.gauge('turn_allocations', 'Live TURN allocations.');
  const tcp = metrics.gauge('turn_tcp_connections', 'Open TURN TCP client connections.');
  const sendErrors = metrics.counter('turn_send_errors_total', 'Sends refused by the socket layer or dropped for a slow TCP reader.');
  const seen = new Map<string, number>();
  const sync = (counter: { inc(by: number, label: string): void }, prefix: string, values: Record<string, number>): void => {
    for (const [label, value] of Object.entries(values)) {
      const k = prefix + label;
      const delta = value - (seen.get(k) ?? 0);
      if (delta > 0) counter.inc(delta, label);
      seen.set(k, value);
    }
  };
  metrics.onCollect(() => {
    const stats = typeof snapshot === 'function' ? snapshot() : snapshot;
    sync(requests, 'r', stats.requests);
    sync(errors, 'e', stats.errors);
    sync(dropped, 'd', stats.dropped);
    sync(packets, 'p', { to_peer: stats.relayedPackets.toPeer, to_client: stats.relayedPackets.toClient });
    sync(bytes, 'b', { to_peer: stats.relayedBytes.toPeer, to_client: stats.relayedBytes.toClient });
    const g = gauges();
    sync(sendErrors, 's', { '': g.sendErrors });
    allocations.set(g.allocations);
    tcp.set(g.tcp);
  });
}
