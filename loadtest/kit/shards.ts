/**
 * Client load split over worker processes (`--workers N`): one Node process drives a few hundred
 * CallClients at most before its own event loop becomes the bottleneck (the report warns when
 * clients miss ticks). With workers, the parent hosts (or points at) the relay, samples its CPU and
 * RSS, and forks N shard processes; each drives whole rooms (room index % N), builds its own
 * partial report and sends it back with its raw latencies; the parent merges them. Rooms never
 * span shards, so per-pair loss accounting stays exact. The leak meter needs one process.
 */
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { quantiles, type Check, type Report } from './report.js';
import { buildReport } from './report.js';
import { runScenario, type TimelinePoint } from './runner.js';
import type { RelaySample, RelayTarget } from './relay-target.js';
import type { Scenario } from './scenario.js';
import { runEnvelopeStorm } from './envelope-storm.js';

interface ShardJob {
  scenario: Scenario;
  durationMs: number;
  url: string;
  udp?: { host: string; port: number };
  index: number;
  count: number;
}

interface ShardResult {
  report: Report;
  latencies: number[];
}

/** Runs the scenario's rooms over `workers` processes against `target`; returns the merged report and latencies. */
export async function runSharded(sc: Scenario, durationMs: number, target: RelayTarget, workers: number, progress?: (line: string) => void): Promise<{ report: Report; latencies: Float64Array }> {
  const script = fileURLToPath(new URL('./shards.js', import.meta.url));
  if (!existsSync(script)) throw new Error('shards.js not built: run `npm run build`');
  const startedAt = new Date();
  const relayStart = await target.sample();
  const timeline: TimelinePoint[] = [];
  let prev = relayStart;
  let running = true;
  const sampler = (async () => {
    while (running) {
      await new Promise((r) => setTimeout(r, 1000));
      const s = await target.sample().catch(() => undefined);
      if (s === undefined || !running) continue;
      const dt = (s.t - prev.t) / 1000;
      const p: TimelinePoint = { t: timeline.length + 1, framesSent: 0, framesDelivered: 0, liveClients: 0 };
      if (s.core !== undefined && prev.core !== undefined) {
        p.relayCellsIn = (s.core.cellsIn - prev.core.cellsIn) / dt;
        p.relayCellsOut = (s.core.cellsOut - prev.core.cellsOut) / dt;
      }
      if (s.cpuMs !== undefined && prev.cpuMs !== undefined) p.relayCpuPct = ((s.cpuMs - prev.cpuMs) / (dt * 1000)) * 100;
      if (s.rssBytes !== undefined) p.relayRssMB = s.rssBytes / 2 ** 20;
      timeline.push(p);
      prev = s;
      progress?.(`[${timeline.length} s] ${workers} workers | relay cpu ${p.relayCpuPct?.toFixed(0) ?? '–'}% | rss ${p.relayRssMB?.toFixed(0) ?? '–'} MB | cells in ${p.relayCellsIn?.toFixed(0) ?? '–'}/s out ${p.relayCellsOut?.toFixed(0) ?? '–'}/s`);
    }
  })();
  const storm = sc.envelopes !== undefined ? runEnvelopeStorm(target.url, sc.envelopes, durationMs) : undefined;
  const shardScenario: Scenario = { ...sc, leak: false };
  delete shardScenario.envelopes;
  const results = await Promise.all(
    Array.from({ length: workers }, (_, index) =>
      new Promise<ShardResult>((resolve, reject) => {
        const job: ShardJob = { scenario: shardScenario, durationMs, url: target.url, ...(target.udp !== undefined ? { udp: target.udp } : {}), index, count: workers };
        const child = fork(script, [], { env: { ...process.env, XRELAY_LOAD_SHARD: JSON.stringify(job) }, serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
        let done: ShardResult | undefined;
        child.on('message', (m: ShardResult) => {
          done = m;
        });
        child.on('exit', (code) => (done !== undefined ? resolve(done) : reject(new Error(`load shard ${index} exited with ${code}`))));
      }),
    ),
  );
  running = false;
  await sampler;
  const relayEnd = await target.sample();
  const envelopes = storm !== undefined ? await storm : undefined;
  const latencies = Float64Array.from(results.flatMap((r) => r.latencies));
  const report = mergeReports(results.map((r) => r.report), latencies, startedAt, relayStart, relayEnd, timeline, target);
  if (envelopes !== undefined) report.envelopes = envelopes;
  return { report, latencies };
}

function mergeReports(parts: Report[], latencies: Float64Array, startedAt: Date, a: RelaySample, b: RelaySample, relayTimeline: TimelinePoint[], target: RelayTarget): Report {
  const base = structuredClone(parts[0]!);
  const sum = <T extends object>(pick: (r: Report) => T): T => {
    const out = { ...pick(parts[0]!) } as Record<string, unknown>;
    for (const r of parts.slice(1)) for (const [k, v] of Object.entries(pick(r))) if (typeof v === 'number') out[k] = (out[k] as number) + v;
    return out as T;
  };
  const m = sum((r) => r.media);
  m.sdk = sum((r) => r.media.sdk);
  m.lossPct = m.expectedDeliveries === 0 ? 0 : (100 * m.lost) / m.expectedDeliveries;
  m.jitterMs = parts.reduce((acc, r) => acc + r.media.jitterMs * r.clients.participants, 0) / Math.max(1, parts.reduce((acc, r) => acc + r.clients.participants, 0));
  m.latencyMs = quantiles(latencies);
  const clients = sum((r) => r.clients);
  clients.joinLatencyMs = base.clients.joinLatencyMs;
  clients.joinErrors = Object.assign({}, ...parts.map((r) => r.clients.joinErrors)) as Record<string, number>;
  clients.joinsPerSec = parts.reduce((acc, r) => acc + r.clients.joinsPerSec, 0);
  const groups = base.groups.map((g, i) => {
    const out = { ...g } as Record<string, unknown>;
    for (const r of parts.slice(1)) for (const [k, v] of Object.entries(r.groups[i]!)) if (typeof v === 'number') out[k] = (out[k] as number) + v;
    const res = out as unknown as Report['groups'][number];
    res.lossPct = res.expectedDeliveries === 0 ? 0 : (100 * res.lost) / res.expectedDeliveries;
    res.jitterMs = parts.reduce((acc, r) => acc + r.groups[i]!.jitterMs, 0) / parts.length;
    return res;
  });
  const timeline = relayTimeline.map((p, i) => {
    const q = { ...p };
    for (const r of parts) {
      const s = r.timeline[i];
      if (s === undefined) continue;
      q.framesSent += s.framesSent;
      q.framesDelivered += s.framesDelivered;
      q.liveClients += s.liveClients;
    }
    return q;
  });
  const checks: Check[] = [];
  parts.forEach((r, i) => {
    for (const c of r.consistency) if (!c.name.startsWith('relay records')) checks.push({ ...c, name: `shard ${i}: ${c.name}` });
  });
  if (b.core !== undefined && a.core !== undefined && target.kind !== 'remote') {
    const records = m.sdk.packetsSent + m.sdk.dummiesSent;
    const slack = 3 * clients.participants + 0.01 * records;
    const got = b.core.recordsIn - a.core.recordsIn;
    checks.push({ name: 'relay records accepted ≈ SDK records sent (fresh relay)', ok: Math.abs(got - records) <= slack, detail: `${got} vs ${records} (slack ${slack.toFixed(0)})` });
  }
  const relay: Report['relay'] = { note: `relay ${target.kind === 'spawned' ? 'in its own process' : target.kind}; clients over ${parts.length} worker processes` };
  if (a.cpuMs !== undefined && b.cpuMs !== undefined) {
    relay.cpuSeconds = (b.cpuMs - a.cpuMs) / 1000;
    relay.cpuPct = (100 * (b.cpuMs - a.cpuMs)) / (b.t - a.t);
  }
  if (b.rssBytes !== undefined) relay.rssMB = b.rssBytes / 2 ** 20;
  const rss = relayTimeline.map((p) => p.relayRssMB ?? 0);
  if (rss.some((v) => v > 0)) relay.rssMaxMB = Math.max(...rss);
  if (b.core !== undefined) {
    relay.counters = b.core;
    relay.dummyShare = b.core.dummyCellsOut / b.core.cellsOut;
  }
  const wire = base.wire.map((w, i) => {
    const all = parts.map((r) => r.wire[i]!).filter((x) => x.upSizes.length > 0);
    return {
      group: w.group,
      upSizes: [...new Set(all.flatMap((x) => x.upSizes))].sort((x, y) => x - y),
      downSizes: [...new Set(all.flatMap((x) => x.downSizes))].sort((x, y) => x - y),
      upCellsPerSec: all.reduce((acc, x) => acc + x.upCellsPerSec, 0) / Math.max(1, all.length),
      downCellsPerSec: all.reduce((acc, x) => acc + x.downCellsPerSec, 0) / Math.max(1, all.length),
    };
  });
  return {
    ...base,
    startedAt: startedAt.toISOString(),
    target: { kind: target.kind, url: target.url, ...(target.pid !== undefined ? { pid: target.pid } : {}), planes: target.planes },
    clients,
    media: m,
    groups,
    relay,
    wire,
    consistency: checks,
    warnings: parts.flatMap((r, i) => r.warnings.map((w) => `shard ${i}: ${w}`)),
    timeline,
  };
}

/** Child entry: run one shard against the given relay and send back the report. */
async function shardMain(): Promise<void> {
  const job = JSON.parse(process.env.XRELAY_LOAD_SHARD ?? '{}') as ShardJob;
  const started = new Date();
  const run = await runScenario({ scenario: job.scenario, durationMs: job.durationMs, target: { kind: 'remote', url: job.url, ...(job.udp !== undefined ? { udp: job.udp } : {}), noMetrics: true }, shard: { index: job.index, count: job.count } });
  const report = buildReport(run, started);
  const result: ShardResult = { report, latencies: Array.from(run.latencies.view()) };
  await new Promise<void>((resolve) => process.send!(result, () => resolve()));
  process.disconnect();
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  shardMain().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
