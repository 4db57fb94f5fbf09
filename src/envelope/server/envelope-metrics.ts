/** The envelope plane's metrics. Labels are error codes and results only: no mailbox, no address. */
import type { MetricsRegistry } from '../../observability/metrics.js';
import type { MailboxMetrics, WakeMetrics } from '../core/ports.js';

export function createEnvelopeMetrics(registry: MetricsRegistry) {
  return {
    stored: registry.counter('xrelay_envelopes_stored_total', 'Envelopes durably stored (each answered 202).'),
    delivered: registry.counter('xrelay_envelopes_delivered_total', 'Envelopes acknowledged by their reader and deleted.'),
    expired: registry.counter('xrelay_envelopes_expired_total', 'Envelopes deleted unacknowledged after their TTL.'),
    rejected: registry.counter('xrelay_envelopes_rejected_total', 'Envelope posts, reader requests and envelope sockets refused or closed by the relay, by error code.', 'code'),
    storeWriteSeconds: registry.histogram('xrelay_store_write_seconds', 'Time from a post reaching the store to its durable commit.', [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]),
    storedEnvelopes: registry.gauge('xrelay_store_envelopes', 'Envelopes currently stored.'),
    storedBytes: registry.gauge('xrelay_store_bytes', 'Envelope bytes currently stored.'),
    readers: registry.gauge('xrelay_mailbox_readers', 'Authenticated mailbox reader connections.'),
    auth: registry.counter('xrelay_mailbox_auth_total', 'Mailbox reader authentications, by result (ok, or the code that closed the socket before authentication).', 'result'),
    sockets: registry.gauge('xrelay_envelope_sockets', 'Open envelope WebSockets, by kind (post, reader; readers counted from connect, before authentication).', 'kind'),
    postsInProgress: registry.gauge('xrelay_envelope_posts_in_progress', 'HTTP envelope posts being received or stored now.'),
    pauses: registry.counter('xrelay_envelope_socket_pauses_total', 'Times an envelope socket stopped reading or sending for backpressure, by reason (post_buffered, post_inflight, reader_buffered).', 'reason'),
    readRetries: registry.counter('xrelay_mailbox_read_retries_total', 'Store reads for a live mailbox reader that failed (store away) and are tried again later, backing off from 250 ms to 5 s; the reader stays connected.'),
    subscriptions: registry.gauge('xrelay_mailbox_subscriptions', 'Cluster mode: mailboxes this node is subscribed to on the Redis mailbox bus (those with a live reader here).'),
    hints: registry.counter('xrelay_mailbox_hints_total', 'Cluster mode: "mailbox may have mail" hints on the Redis mailbox bus, by result: published, failed (Redis did not take it; the post wakes instead), received (from another node).', 'result'),
    wakes: registry.counter('xrelay_wakes_total', 'Push wakes, by result: sent, failed (after all retries), retried, coalesced, dropped (over envelope.wakeMaxPending).', 'result'),
  };
}

export type EnvelopeMetrics = ReturnType<typeof createEnvelopeMetrics>;

/** The mailbox core's metrics port, onto these series. */
export function mailboxMetricsOf(m: EnvelopeMetrics): MailboxMetrics {
  return {
    stored: (writeSeconds) => {
      m.storeWriteSeconds.observe(writeSeconds);
      m.stored.inc();
    },
    delivered: (count) => m.delivered.inc(count),
    expired: (count) => m.expired.inc(count),
    rejected: (code) => m.rejected.inc(1, code),
    readersChanged: (delta) => m.readers.add(delta),
  };
}

/** The wake dispatcher's metrics port, onto `xrelay_wakes_total{result}`. */
export function wakeMetricsOf(m: EnvelopeMetrics): WakeMetrics {
  return { wake: (result) => m.wakes.inc(1, result) };
}
