/**
 * Envelope storm: autocannon posts opaque envelopes of one size bucket to many mailboxes over the
 * relay's HTTP API (`POST /v1/mailboxes/{id}/envelopes`, 202 = durably stored) while one
 * authenticated reader per mailbox (the project's MailboxReader) drains and acknowledges them over
 * the reader WebSocket. Every body carries its post time (f64 epoch ms in its first 8 bytes) so the
 * storm measures post → read latency on one clock. Accounting: accepted = read + still queued.
 */
import autocannon from 'autocannon';
import { encodeB64url } from '../wire/envelope-protocol.js';
import { generateMailboxKeys } from '../client/mailbox/mailbox-keys.js';
import { MailboxReader } from '../client/mailbox/mailbox-reader.js';
import { nowEpochMs } from './leak/tap.js';
import { F64List } from './frames.js';
import type { Quantiles } from './report.js';
import { quantiles } from './report.js';
import type { EnvelopeStorm } from './scenario.js';

export interface StormReport {
  mailboxes: number;
  connections: number;
  bucketBytes: number;
  durationSec: number;
  posts: { sent: number; accepted: number; refusedByStatus: Record<string, number>; errors: number; timeouts: number; perSec: number; latencyMs: { p50: number; p99: number; max: number; mean: number } };
  reads: { received: number; perSec: number; latencyMs: Quantiles; problems: Record<string, number> };
  /** Posts autocannon may have left in flight when it stopped (stored, 202 never counted). */
  inFlightAtStop: number;
  /** Accepted posts not read when the drain ended (should be 0). */
  unread: number;
  consistent: boolean;
}

const DRAIN_MS = 10_000;

export async function runEnvelopeStorm(urls: string | readonly string[], storm: EnvelopeStorm, durationMs: number): Promise<StormReport> {
  const list = typeof urls === 'string' ? [urls] : [...urls];
  const boxes = await Promise.all(Array.from({ length: storm.mailboxes }, () => generateMailboxKeys()));
  const paths = boxes.map((k) => `/v1/mailboxes/${encodeB64url(k.mailboxId)}/envelopes`);
  const readLatencies = new F64List(4096);
  const problems: Record<string, number> = {};
  let received = 0;
  // Readers round robin over the nodes; posts too (autocannon spreads its connections over the URLs).
  const readers = boxes.map((keys, i) => {
    const r = new MailboxReader({ relayUrl: list[i % list.length]!, keys, autoAck: true });
    r.on('envelope', (e) => {
      received++;
      if (e.body.length >= 8) readLatencies.push(nowEpochMs() - Buffer.from(e.body.buffer, e.body.byteOffset, 8).readDoubleBE(0));
    });
    r.on('problem', (p) => {
      problems[p.code] = (problems[p.code] ?? 0) + 1;
    });
    return r;
  });
  try {
    await Promise.all(readers.map((r) => r.connect()));
    let next = 0;
    const durationSec = Math.max(1, Math.floor(durationMs / 1000) - 1);
    const started = nowEpochMs();
    const result = await autocannon({
      // autocannon spreads its connections over a URL array (lib/run.js: connection i -> urls[i % n]); its types say string.
      url: (list.length === 1 ? list[0]! : list) as string,
      connections: storm.connections,
      pipelining: storm.pipelining ?? 1,
      ...(storm.ratePerSec !== undefined ? { overallRate: storm.ratePerSec } : {}),
      duration: durationSec,
      requests: [
        {
          method: 'POST',
          setupRequest: (req) => {
            const body = Buffer.alloc(storm.bucketBytes);
            body.writeDoubleBE(nowEpochMs(), 0);
            return { ...req, method: 'POST', path: paths[next++ % paths.length]!, headers: { 'content-type': 'application/octet-stream' }, body };
          },
        },
      ],
    });
    const postSec = (nowEpochMs() - started) / 1000;
    const accepted = Number(result.statusCodeStats?.['202']?.count ?? 0);
    const refused: Record<string, number> = {};
    for (const [code, v] of Object.entries(result.statusCodeStats ?? {})) if (code !== '202') refused[code] = Number(v?.count ?? 0);
    const drainUntil = nowEpochMs() + DRAIN_MS;
    while (received < accepted && nowEpochMs() < drainUntil) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 300)); // the in-flight tail
    const readSec = (nowEpochMs() - started) / 1000;
    return {
      mailboxes: storm.mailboxes,
      connections: storm.connections,
      bucketBytes: storm.bucketBytes,
      durationSec,
      posts: {
        sent: result.requests.total,
        accepted,
        refusedByStatus: refused,
        errors: result.errors,
        timeouts: result.timeouts,
        perSec: accepted / postSec,
        latencyMs: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max, mean: result.latency.average },
      },
      reads: { received, perSec: received / readSec, latencyMs: quantiles(readLatencies.view()), problems },
      inFlightAtStop: storm.connections * (storm.pipelining ?? 1),
      unread: Math.max(0, accepted - received),
      consistent: received >= accepted,
    };
  } finally {
    for (const r of readers) r.close();
  }
}
