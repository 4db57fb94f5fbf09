/**
 * /metrics for the batch I/O counters of a native thread (native/src/batch_io.cc, shared by the
 * media data plane's thread and the TURN one): datagrams dropped at send by reason, waits for
 * send-buffer room, and recvmmsg/sendmmsg calls. Read at scrape time from the thread's plain
 * counters; labels are closed sets.
 */
import type { MetricsRegistry } from '../observability/metrics.js';

export interface BatchIoCounters {
  /** Dropped at send, for any reason (sendWouldBlock included). */
  sendErrors: number;
  /** Of sendErrors, dropped because the send buffer stayed full past the waits. */
  sendWouldBlock: number;
  /** Times a sendmmsg found the send buffer full and waited for room. */
  sendWaits: number;
  recvBatches: number;
  sendBatches: number;
}

export interface BatchIoMetricNames {
  /** Metric name prefix, e.g. `xrelay_turn_native_`. */
  prefix: string;
  /** Who sends, for the help texts, e.g. "the native TURN data path". */
  who: string;
  /** What it sends: "cells", "datagrams". */
  unit: string;
  /** The thread's longest single wait for send-buffer room. */
  waitMs: number;
  /** Appended to the send drops' help text. */
  dropNote?: string;
}

/**
 * Registers `<prefix>send_dropped_total{reason}`, `<prefix>send_waits_total` and
 * `<prefix>io_batches_total{call}`; the returned function brings them up to date.
 */
export function registerBatchIoMetrics(metrics: MetricsRegistry, n: BatchIoMetricNames): (c: BatchIoCounters) => void {
  const unit = n.unit[0]!.toUpperCase() + n.unit.slice(1);
  const dropped = metrics.counter(
    `${n.prefix}send_dropped_total`,
    `${unit} ${n.who} dropped at send, by reason: would_block (the send buffer stayed full past the waits) or error (refused by the socket layer, e.g. EMSGSIZE).${n.dropNote === undefined ? '' : ' ' + n.dropNote}`,
    'reason',
  );
  const waits = metrics.counter(`${n.prefix}send_waits_total`, `Times ${n.who} found a send buffer full and waited (up to ${n.waitMs} ms) for room.`);
  const batches = metrics.counter(`${n.prefix}io_batches_total`, `recvmmsg and sendmmsg calls of ${n.who} that moved at least one of its ${n.unit}, by call.`, 'call');
  for (const reason of ['would_block', 'error']) dropped.inc(0, reason);
  return (c) => {
    dropped.follow(c.sendWouldBlock, 'would_block');
    dropped.follow(c.sendErrors - c.sendWouldBlock, 'error');
    waits.follow(c.sendWaits);
    batches.follow(c.recvBatches, 'recvmmsg');
    batches.follow(c.sendBatches, 'sendmmsg');
  };
}
