/**
 * `xrelay load` / `npm run loadtest -- ...`: run a scenario against a relay and write the report.
 *
 *   --scenario NAME|FILE   a file of loadtest/scenarios (default group-audio-8); --list shows them
 *   --duration 20s         measured phase (default: the scenario's)
 *   --out DIR              report directory (default reports/); files go to DIR/<scenario>-<time>/
 *   --relay URL            load a running relay instead of spawning one (--relay-udp HOST:PORT
 *                          lets observer taps reach its cell port)
 *   --in-process           host the relay in this process (no separate CPU/RSS figures)
 *   --leak                 also run the leak meter's three views
 *   --seed N               override the scenario's seed
 *   --workers N            drive the clients from N processes (whole rooms each; not with --leak)
 *   --quiet                no live progress line
 * Exit code: 0 when every consistency check passes, 1 otherwise, 2 on bad arguments.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { renderCharts } from './charts.js';
import { renderMarkdown } from './markdown.js';
import { buildReport, type Report } from './report.js';
import { runScenario } from './runner.js';
import { listScenarios, loadScenario, parseDuration, type Scenario } from './scenario.js';
import { startTarget, type TargetSpec } from './relay-target.js';
import { runSharded } from './shards.js';
import { runEnvelopeStorm } from './envelope-storm.js';

interface Args {
  scenario: string;
  duration?: number;
  out: string;
  relay?: string;
  relayUdp?: { host: string; port: number };
  inProcess: boolean;
  leak: boolean;
  seed?: number;
  quiet: boolean;
  list: boolean;
  workers: number;
}

function parseArgs(argv: string[]): Args | string {
  const a: Args = { scenario: 'group-audio-8', out: 'reports', inProcess: false, leak: false, quiet: false, list: false, workers: 1 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const v = (): string => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${k} needs a value`);
      return x;
    };
    try {
      switch (k) {
        case '--scenario':
          a.scenario = v();
          break;
        case '--duration': {
          const d = parseDuration(v());
          if (d === undefined || d < 1000 || d > 3_600_000) return '--duration must be like 20s, 90s, 2m (1 s .. 1 h)';
          a.duration = d;
          break;
        }
        case '--out':
          a.out = v();
          break;
        case '--relay':
          a.relay = v();
          break;
        case '--relay-udp': {
          const [host, port] = v().split(/:(?=\d+$)/);
          a.relayUdp = { host: host!, port: Number(port) };
          break;
        }
        case '--in-process':
          a.inProcess = true;
          break;
        case '--leak':
          a.leak = true;
          break;
        case '--seed':
          a.seed = Number(v());
          break;
        case '--workers': {
          const n = Number(v());
          if (!Number.isInteger(n) || n < 1 || n > 16) return '--workers must be 1..16';
          a.workers = n;
          break;
        }
        case '--quiet':
          a.quiet = true;
          break;
        case '--list':
          a.list = true;
          break;
        case '--help':
        case '-h':
          return 'usage';
        default:
          return `unknown argument ${k}`;
      }
    } catch (err) {
      return (err as Error).message;
    }
  }
  return a;
}

const USAGE = 'usage: xrelay load [--scenario NAME|FILE] [--duration 20s] [--out DIR] [--relay URL [--relay-udp HOST:PORT]] [--in-process] [--leak] [--seed N] [--workers N] [--quiet] [--list]';

/** Runs `xrelay load`; resolves to the process exit code. */
export async function runLoadCommand(argv: string[]): Promise<number> {
  const a = parseArgs(argv);
  if (typeof a === 'string') {
    console.error(a === 'usage' ? USAGE : `${a}\n${USAGE}`);
    return a === 'usage' ? 0 : 2;
  }
  if (a.list) {
    for (const s of listScenarios()) console.log(`${s.name.padEnd(18)} ${s.description}`);
    return 0;
  }
  let sc: Scenario;
  try {
    sc = loadScenario(a.scenario);
  } catch (err) {
    console.error((err as Error).message);
    return 2;
  }
  if (a.leak) sc.leak = true;
  if (a.seed !== undefined) sc.seed = a.seed >>> 0;
  const target: TargetSpec =
    a.relay !== undefined
      ? { kind: 'remote', url: a.relay, ...(a.relayUdp !== undefined ? { udp: a.relayUdp } : {}) }
      : { kind: a.inProcess ? 'in-process' : 'spawned', host: { media: { ...LOAD_JOIN_LIMITS, ...(sc.relayMedia ?? {}) }, ...(sc.envelopes !== undefined ? { envelope: { postRatePerSec: 1_000_000, postBurst: 1_000_000, maxSocketsPerAddress: 1_000_000 } } : {}) } };
  const { report, dir } = await runAndWrite(sc, a.duration ?? sc.durationMs, target, a.out, a.quiet ? undefined : progressPrinter(), a.workers);
  printSummary(report, dir);
  return report.consistency.every((c) => c.ok) ? 0 : 1;
}

/** A load generator is one address joining many clients: a spawned relay lifts the per-address join limit. */
const LOAD_JOIN_LIMITS = { joinRatePerSec: 1_000_000, joinBurst: 1_000_000 };

/** Runs a scenario and writes report.json, report.md and the SVG charts; returns the report and its folder. */
export async function runAndWrite(sc: Scenario, durationMs: number, target: TargetSpec, outRoot: string, progress?: (line: string, final: boolean) => void, workers = 1): Promise<{ report: Report; dir: string }> {
  const startedAt = new Date();
  let report: Report;
  let charts: Record<string, string>;
  if (workers > 1 && sc.leak !== true) {
    const relay = await startTarget(target);
    try {
      const sharded = await runSharded(sc, durationMs, relay, workers, progress !== undefined ? (l) => progress(l, false) : undefined);
      report = sharded.report;
      charts = renderCharts(report, sharded.latencies);
    } finally {
      await relay.close();
    }
  } else {
    const run = await runScenario({
      scenario: sc,
      durationMs,
      target,
      ...(progress !== undefined ? { progress } : {}),
      ...(sc.envelopes !== undefined ? { envelopes: (url: string, ms: number) => runEnvelopeStorm(url, sc.envelopes!, ms) } : {}),
    });
    report = buildReport(run, startedAt);
    charts = renderCharts(report, run.latencies.view(), run);
  }
  progress?.('', true);
  const dir = resolve(outRoot, `${sc.name}-${startedAt.toISOString().replace(/[:.]/g, '-')}`);
  mkdirSync(dir, { recursive: true });
  for (const [name, svg] of Object.entries(charts)) writeFileSync(join(dir, name), svg);
  writeFileSync(join(dir, 'report.json'), JSON.stringify(report, null, 2) + '\n');
  writeFileSync(join(dir, 'report.md'), renderMarkdown(report, Object.keys(charts)));
  return { report, dir };
}

function progressPrinter(): (line: string, final: boolean) => void {
  const tty = process.stderr.isTTY === true;
  let last = 0;
  return (line, final) => {
    if (final) {
      if (tty) process.stderr.write('\n');
      return;
    }
    if (tty) process.stderr.write(`\r\x1b[2K${line}`);
    else if (Date.now() - last >= 5000 || line.startsWith('joined')) {
      last = Date.now();
      process.stderr.write(line + '\n');
    }
  };
}

function printSummary(r: Report, dir: string): void {
  const m = r.media;
  console.log(`${r.scenario.name}: ${r.clients.joined} clients in ${r.clients.rooms} rooms, ${m.framesSent} frames sent, ${m.delivered}/${m.expectedDeliveries} delivered (loss ${m.lossPct.toFixed(3)}%), latency p50 ${m.latencyMs.p50.toFixed(1)} ms p99 ${m.latencyMs.p99.toFixed(1)} ms, jitter ${m.jitterMs.toFixed(2)} ms`);
  if (r.relay.cpuPct !== undefined) console.log(`relay [${r.target.planes.join(', ')}]: cpu ${r.relay.cpuPct.toFixed(1)}% of a core, rss ${r.relay.rssMB?.toFixed(0)} MB (${r.relay.note})`);
  if (r.leak !== undefined) for (const v of r.leak.views) console.log(`leak: ${v.view}: ${(100 * v.balancedAccuracy).toFixed(1)}% ± ${(100 * v.ci95).toFixed(1)} (goal ${v.goal}: ${v.meetsGoal ? 'met' : 'NOT met'})`);
  for (const w of r.warnings) console.log(`warning: ${w}`);
  for (const c of r.consistency) if (!c.ok) console.log(`consistency FAILED: ${c.name} (${c.detail})`);
  console.log(`report: ${join(dir, 'report.md')}`);
}
