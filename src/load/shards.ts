/**
 * Client load split over worker processes (`--workers N`): one Node process drives a few hundred
 * CallClients at most before its own event loop becomes the bottleneck (the report warns when
 * clients miss ticks). With workers, the parent hosts (or points at) the relay, samples its CPU and
 * RSS, and forks N shard processes; each drives whole rooms (room index % N), builds its own
 * partial report (latency as HDR histograms, per interval and for the run) and sends it back; the
 * parent merges them: histograms add exactly, so the merged percentiles are those of one histogram
 * of every sample, and no raw sample crosses the IPC channel. Rooms never span shards, so per-pair
 * loss accounting stays exact. Each shard's intervals count from its own start of the measured
 * phase (shards join their rooms in parallel, so the starts differ by the join time); interval k
 * of the merged timeline is interval k of every shard. The leak meter needs one process.
 */
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { LatencyHistogram, quantilesOf } from './histogram.js';
import { intervalLatency, type IntervalFigures } from './intervals.js';
import { buildReport, type Check, type Report } from './report.js';
import { runScenario, type TimelinePoint } from './runner.js';
import { addRelayRates } from './sampler.js';
import type { RelaySample, RelayTarget } from './relay-target.js';
import type { Scenario } from './scenario.js';
import { runEnvelopeStorm } from './envelope-storm.js';

interface ShardJob {
  scenario: Scenario;
  durationMs: number;
  url: string;
  urls?: readonly string[];
  udp?: { host: string; port: number };
  index: number;
  count: number;
}

interface ShardResult {
  report: Report;
}

/** Sums interval figures of several shards: histograms add, expected and lost add, jitter is weighted by streams. */
export function mergeFigures(parts: IntervalFigures[]): IntervalFigures {
  const h = LatencyHistogram.merge(parts.map((p) => p.latencyHdr));
  const expected = parts.reduce((a, p) => a + p.expected, 0);
  const lost = parts.reduce((a, p) => a + p.lost, 0);
  const streams = parts.reduce((a, p) => a + p.jitterStreams, 0);
  const jitter = parts.reduce((a, p) => a + (p.jitterStreams > 0 ? p.jitterMs * p.jitterStreams : 0), 0);
  return { latencyMs: intervalLatency(h), latencyHdr: h.encode(), expected, lost, lossPct: expected === 0 ? 0 : (100 * lost) / expected, jitterMs: streams === 0 ? NaN : jitter / streams, jitterStreams: streams };
}

/** Merges shard timelines interval by interval (rates and live clients add; relay figures are the parent's). */
export function mergeTimelines(parts: TimelinePoint[][]): TimelinePoint[] {
  const n = Math.max(0, ...parts.map((p) => p.length));
  return Array.from({ length: n }, (_, k) => {
    const pts = parts.map((p) => p[k]).filter((p): p is TimelinePoint => p !== undefined);
    const first = pts[0]!;
    return {
      t: first.t,
      dt: first.dt,
      framesSentPerSec: pts.reduce((a, p) => a + p.framesSentPerSec, 0),
      framesDeliveredPerSec: pts.reduce((a, p) => a + p.framesDeliveredPerSec, 0),
      liveClients: pts.reduce((a, p) => a + p.liveClients, 0),
      ...mergeFigures(pts),
      series: first.series.map((_s, i) => mergeFigures(pts.map((p) => p.series[i]!))),
    };
  });
}

/** Runs the scenario's rooms over `workers` processes against `target`; returns the merged report and latencies. */
export async function runSharded(sc: Scenario, durationMs: number, target: RelayTarget, workers: number, progress?: (line: string) => void): Promise<Report> {
  // Built beside this file, or (running from the TypeScript sources, as tests do) in dist/.
  const script = ['./shards.js', '../../dist/src/load/shards.js'].map((rel) => fileURLToPath(new URL(rel, import.meta.url))).find(existsSync);
  if (script === undefined) throw new Error('shards.js not built: run `npm run build`');
  const startedAt = new Date();
  const relayStart = await target.sample();
  // Relay samples every 250 ms; the merged timeline picks the ones nearest its interval bounds.
  const samples: RelaySample[] = [relayStart];
  let running = true;
  const sampler = (async () => {
    while (running) {
      await new Promise((r) => setTimeout(r, 250));
      const s = await target.sample().catch(() => undefined);
      if (s === undefined || !running) continue;
      samples.push(s);
      const p = samples.length % 4 === 0 ? samples[samples.length - 5] : undefined;
      if (p === undefined) continue;
      const q = { framesSentPerSec: 0 } as TimelinePoint;
      addRelayRates(q, p, s);
      progress?.(`[${Math.round((s.t - relayStart.t) / 1000)} s] ${workers} workers | relay cpu ${q.relayCpuPct?.toFixed(0) ?? '–'}% | rss ${q.relayRssMB?.toFixed(0) ?? '–'} MB | cells in ${q.relayCellsInPerSec?.toFixed(0) ?? '–'}/s out ${q.relayCellsOutPerSec?.toFixed(0) ?? '–'}/s`);
    }
  })();
  const storm = sc.envelopes !== undefined ? runEnvelopeStorm(target.urls ?? [target.url], sc.envelopes, durationMs) : undefined;
  const shardScenario: Scenario = { ...sc, leak: false };
  delete shardScenario.envelopes;
  const results = await Promise.all(
    Array.from({ length: workers }, (_, index) =>
      new Promise<ShardResult>((resolve, reject) => {
        const job: ShardJob = { scenario: shardScenario, durationMs, url: target.url, ...(target.urls !== undefined ? { urls: target.urls } : {}), ...(target.udp !== undefined ? { udp: target.udp } : {}), index, count: workers };
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
  const report = mergeReports(results.map((r) => r.report), startedAt, relayStart, relayEnd, samples, target);
  if (envelopes !== undefined) report.envelopes = envelopes;
  return report;
}

/** The relay sample nearest to epoch ms `t`. */
function nearest(samples: RelaySample[], t: number): RelaySample | undefined {
  let best: RelaySample | undefined;
  for (const s of samples) if (best === undefined || Math.abs(s.t - t) < Math.abs(best.t - t)) best = s;
  return best;
}

function mergeReports(parts: Report[], startedAt: Date, a: RelaySample, b: RelaySample, samples: RelaySample[], target: RelayTarget): Report {
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
  const lat = LatencyHistogram.merge(parts.map((r) => r.media.latencyHdr));
  m.latencyMs = lat.quantiles();
  m.latencyHdr = lat.encode();
  const clients = sum((r) => r.clients);
  clients.joinLatenciesMs = parts.flatMap((r) => r.clients.joinLatenciesMs);
  clients.joinLatencyMs = quantilesOf(clients.joinLatenciesMs);
  clients.joinErrors = Object.assign({}, ...parts.map((r) => r.clients.joinErrors)) as Record<string, number>;
  clients.joinsPerSec = parts.reduce((acc, r) => acc + r.clients.joinsPerSec, 0);
  const groups = mergeGroups(base, parts);
  const timeline = mergeTimelines(parts.map((r) => r.timeline));
  const t0 = Math.max(...parts.map((r) => r.measuredFromEpochMs));
  let prev = nearest(samples, t0);
  for (const p of timeline) {
    const s = nearest(samples, t0 + p.t * 1000);
    addRelayRates(p, prev, s);
    prev = s;
  }
  const series = {
    by: base.series.by,
    list: base.series.list.map((x, i) => {
      const h = LatencyHistogram.merge(parts.map((r) => r.series.list[i]!.latencyHdr));
      return { label: x.label, latencyMs: h.quantiles(), latencyHdr: h.encode() };
    }),
  };
  const checks: Check[] = [];
  parts.forEach((r, i) => {
    for (const c of r.consistency) if (!c.name.startsWith('relay records') && !c.name.startsWith('WebRTC arrivals')) checks.push({ ...c, name: `shard ${i}: ${c.name}` });
  });
  // WebRTC groups go through the edge, not the media core: their frames are checked against its forwarded count.
  const rtcGroups = base.scenario.groups.map((g, gi) => ({ g, merged: groups[gi] })).filter((x) => x.g.transport === 'rtc');
  const rtcFrames = rtcGroups.reduce((acc, x) => acc + (x.merged?.framesSent ?? 0), 0);
  if (b.core !== undefined && a.core !== undefined && target.kind !== 'remote' && rtcGroups.length < base.scenario.groups.length) {
    const records = m.sdk.packetsSent + m.sdk.dummiesSent - rtcFrames;
    const slack = 3 * clients.participants + 0.01 * records;
    const got = b.core.recordsIn - a.core.recordsIn;
    checks.push({ name: 'relay records accepted ≈ SDK records sent (fresh relay)', ok: Math.abs(got - records) <= slack, detail: `${got} vs ${records} (slack ${slack.toFixed(0)})` });
  }
  if (b.core?.rtcForwarded !== undefined && a.core?.rtcForwarded !== undefined && target.kind !== 'remote' && rtcGroups.length > 0) {
    const forwarded = b.core.rtcForwarded - a.core.rtcForwarded;
    const ideal = rtcGroups.reduce((acc, x) => acc + (x.merged?.framesSent ?? 0) * (x.g.participants - 1), 0);
    const arrived = rtcGroups.reduce((acc, x) => acc + (x.merged === undefined ? 0 : x.merged.delivered + x.merged.extraDeliveries + x.merged.duplicates), 0);
    const slack = 2 * clients.participants;
    checks.push({ name: 'WebRTC arrivals ≤ edge RTP forwarded ≤ Σ frames sent × (room size − 1) (fresh relay)', ok: arrived <= forwarded + slack && forwarded <= ideal, detail: `${arrived} ≤ ${forwarded} ≤ ${ideal}` });
  }
  const relay = mergedRelay(parts.length, a, b, samples, target);
  const wire = mergeWire(base, parts);
  return {
    ...base,
    startedAt: startedAt.toISOString(),
    target: { kind: target.kind, url: target.url, ...(target.pid !== undefined ? { pid: target.pid } : {}), planes: target.planes },
    clients,
    media: m,
    measuredFromEpochMs: t0,
    groups,
    series,
    relay,
    wire,
    consistency: checks,
    warnings: parts.flatMap((r, i) => r.warnings.map((w) => `shard ${i}: ${w}`)),
    timeline,
  };
}

/** Per-group figures summed over the shards (rates and loss recomputed). */
function mergeGroups(base: Report, parts: Report[]): Report['groups'] {
  return base.groups.map((g, i) => {
    const out = { ...g } as Record<string, unknown>;
    for (const r of parts.slice(1)) for (const [k, v] of Object.entries(r.groups[i]!)) if (typeof v === 'number') out[k] = (out[k] as number) + v;
    const res = out as unknown as Report['groups'][number];
    res.lossPct = res.expectedDeliveries === 0 ? 0 : (100 * res.lost) / res.expectedDeliveries;
    res.jitterMs = parts.reduce((acc, r) => acc + r.groups[i]!.jitterMs, 0) / parts.length;
    const e = parts.map((r) => r.groups[i]!.e2ePadding);
    res.e2ePadding = { requested: e.reduce((x, y) => x + y.requested, 0), active: e.reduce((x, y) => x + y.active, 0), withheld: e.reduce((x, y) => x + y.withheld, 0), limit: Math.max(...e.map((y) => y.limit)) };
    return res;
  });
}

/** The relay's figures over the whole run (one relay, sampled by the parent). */
function mergedRelay(workers: number, a: RelaySample, b: RelaySample, samples: RelaySample[], target: RelayTarget): Report['relay'] {
  const relay: Report['relay'] = { note: `relay ${target.kind === 'spawned' ? 'in its own process' : target.kind}; clients over ${workers} worker processes` };
  if (a.cpuMs !== undefined && b.cpuMs !== undefined) {
    relay.cpuSeconds = (b.cpuMs - a.cpuMs) / 1000;
    relay.cpuPct = (100 * (b.cpuMs - a.cpuMs)) / (b.t - a.t);
  }
  if (b.rssBytes !== undefined) relay.rssMB = b.rssBytes / 2 ** 20;
  const rss = samples.map((p) => (p.rssBytes ?? 0) / 2 ** 20);
  if (rss.some((v) => v > 0)) relay.rssMaxMB = Math.max(...rss);
  if (b.core !== undefined) {
    relay.counters = b.core;
    relay.dummyShare = b.core.dummyCellsOut / b.core.cellsOut;
  }
  return relay;
}

/** Cell sizes seen by any shard, rates averaged over the shards that saw cells. */
function mergeWire(base: Report, parts: Report[]): Report['wire'] {
  return base.wire.map((w, i) => {
    const all = parts.map((r) => r.wire[i]!).filter((x) => x.upSizes.length > 0);
    return {
      group: w.group,
      upSizes: [...new Set(all.flatMap((x) => x.upSizes))].sort((x, y) => x - y),
      downSizes: [...new Set(all.flatMap((x) => x.downSizes))].sort((x, y) => x - y),
      upCellsPerSec: all.reduce((acc, x) => acc + x.upCellsPerSec, 0) / Math.max(1, all.length),
      downCellsPerSec: all.reduce((acc, x) => acc + x.downCellsPerSec, 0) / Math.max(1, all.length),
    };
  });
}

/** Child entry: run one shard against the given relay and send back the report. */
async function shardMain(): Promise<void> {
  const job = JSON.parse(process.env.XRELAY_LOAD_SHARD ?? '{}') as ShardJob;
  const started = new Date();
  const run = await runScenario({ scenario: job.scenario, durationMs: job.durationMs, target: { kind: 'remote', url: job.url, ...(job.urls !== undefined ? { urls: job.urls } : {}), ...(job.udp !== undefined ? { udp: job.udp } : {}), noMetrics: true }, shard: { index: job.index, count: job.count } });
  const report = buildReport(run, started);
  const result: ShardResult = { report };
  await new Promise<void>((resolve) => process.send!(result, () => resolve()));
  process.disconnect();
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  shardMain().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
