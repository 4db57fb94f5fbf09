/**
 * `xrelay load` / `npm run loadtest -- ...`: run a scenario against a relay and write the report.
 * The options, their defaults and validation live in one table (options.ts): `--help` prints it.
 * Exit code: 0 when every consistency check passes, 1 otherwise, 2 on bad arguments.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { renderCharts } from './charts.js';
import { renderMarkdown } from './markdown.js';
import { LoadArgError, loadHelpText, parseLoadArgs, LOAD_USAGE, type LoadArgs } from './options.js';
import { buildReport, type Report } from './report.js';
import { runScenario } from './runner.js';
import { checkRtcGroup, listScenarios, loadScenario, type Scenario } from './scenario.js';
import { LOAD_RTC } from './relay-host.js';
import { startTarget, type TargetSpec } from './relay-target.js';
import { runSharded } from './shards.js';
import { runEnvelopeStorm } from './envelope-storm.js';

/** Prints a bad-argument message with its stable code and returns exit code 2. */
function argError(err: LoadArgError): number {
  console.error(`xrelay load: ${err.message} [${err.code}]\n${LOAD_USAGE}\n(xrelay load --help lists every option)`);
  return 2;
}

function scenarioOf(a: LoadArgs): Scenario {
  try {
    return loadScenario(a.scenario);
  } catch (err) {
    const missing = (err as Error).message.startsWith('no scenario');
    throw new LoadArgError(missing ? 'unknown_scenario' : 'bad_scenario', `--scenario ${(err as Error).message}${missing ? `; known: ${listScenarios().map((s) => s.name).join(', ')}` : ''}`);
  }
}

/** Runs `xrelay load`; resolves to the process exit code. */
export async function runLoadCommand(argv: string[]): Promise<number> {
  let a: LoadArgs;
  let sc: Scenario;
  try {
    a = parseLoadArgs(argv);
    if (a.help) {
      process.stdout.write(loadHelpText());
      return 0;
    }
    if (a.list) {
      for (const s of listScenarios()) console.log(`${s.name.padEnd(18)} ${s.description}`);
      return 0;
    }
    if (a.charts !== undefined) return redrawCharts(a.charts);
    sc = scenarioOf(a);
    if (a.leak) sc.leak = true;
    if (a.transport !== undefined) withTransport(sc, a.transport);
    if (sc.leak === true && a.workers > 1) throw new LoadArgError('conflicting_options', `scenario ${sc.name} runs the leak meter, which needs one process: drop --workers`);
  } catch (err) {
    if (err instanceof LoadArgError) return argError(err);
    throw err;
  }
  if (a.seed !== undefined) sc.seed = a.seed;
  const target: TargetSpec =
    a.relay !== undefined
      ? { kind: 'remote', url: a.relay[0]!, urls: a.relay, ...(a.relayUdp !== undefined ? { udp: a.relayUdp } : {}) }
      : { kind: a.inProcess ? 'in-process' : 'spawned', host: { media: { ...LOAD_JOIN_LIMITS, ...(sc.relayMedia ?? {}) }, ...rtcHost(sc), ...(sc.envelopes !== undefined ? { envelope: { postRatePerSec: 1_000_000, postBurst: 1_000_000, maxSocketsPerAddress: 1_000_000, authRatePerSec: 1_000_000, authBurst: 1_000_000 } } : {}) } };
  const { report, dir } = await runAndWrite(sc, a.duration ?? sc.durationMs, target, a.out, a.quiet ? undefined : progressPrinter(), a.workers);
  printSummary(report, dir);
  return report.consistency.every((c) => c.ok) ? 0 : 1;
}

/** `--transport`: every group's transport; `rtc` groups send audio without dummies (checked as a scenario file would be). */
function withTransport(sc: Scenario, transport: NonNullable<LoadArgs['transport']>): void {
  sc.groups.forEach((g, i) => {
    g.transport = transport;
    if (transport !== 'rtc') return;
    g.e2ePadding = false;
    checkRtcGroup(g, `groups[${i}]`, (field, why) => {
      throw new LoadArgError('conflicting_options', `--transport rtc: scenario ${sc.name}: ${field} ${why}`);
    });
  });
}

/** A spawned relay serves the WebRTC edge when a group uses it (limits lifted, room cap fitting the rooms). */
function rtcHost(sc: Scenario): { rtc?: typeof LOAD_RTC & { roomCap: number; receiveSlots: number } } {
  const rtc = sc.groups.filter((g) => g.transport === 'rtc');
  if (rtc.length === 0) return {};
  const cap = Math.max(8, ...rtc.map((g) => g.participants));
  return { rtc: { ...LOAD_RTC, roomCap: cap, receiveSlots: cap - 1 } };
}

/** `--charts DIR`: the charts again from DIR/report.json (everything they need is in it). */
function redrawCharts(dir: string): number {
  const file = join(dir, 'report.json');
  if (!existsSync(file)) return argError(new LoadArgError('bad_value', `--charts ${file} does not exist`));
  const report = JSON.parse(readFileSync(file, 'utf8')) as Report;
  if (report.kind !== 'xrelay-load-report/v2') return argError(new LoadArgError('bad_value', `--charts ${file} is a ${report.kind}, not an xrelay-load-report/v2`));
  const charts = renderCharts(report);
  for (const [name, svg] of Object.entries(charts)) writeFileSync(join(dir, name), svg);
  console.log(`${Object.keys(charts).length} charts written to ${dir}`);
  return 0;
}

/** A load generator is one address joining many clients: a spawned relay lifts the per-address join limit. */
const LOAD_JOIN_LIMITS = { joinRatePerSec: 1_000_000, joinBurst: 1_000_000, maxSessionsPerAddress: 65_535 };

/** Runs a scenario and writes report.json, report.md and the SVG charts; returns the report and its folder. */
export async function runAndWrite(sc: Scenario, durationMs: number, target: TargetSpec, outRoot: string, progress?: (line: string, final: boolean) => void, workers = 1): Promise<{ report: Report; dir: string }> {
  const startedAt = new Date();
  let report: Report;
  let charts: Record<string, string>;
  if (workers > 1 && sc.leak !== true) {
    const relay = await startTarget(target);
    try {
      report = await runSharded(sc, durationMs, relay, workers, progress !== undefined ? (l) => progress(l, false) : undefined);
      charts = renderCharts(report);
    } finally {
      await relay.close();
    }
  } else {
    const run = await runScenario({
      scenario: sc,
      durationMs,
      target,
      ...(progress !== undefined ? { progress } : {}),
      ...(sc.envelopes !== undefined ? { envelopes: (urls: readonly string[], ms: number) => runEnvelopeStorm(urls, sc.envelopes!, ms) } : {}),
    });
    report = buildReport(run, startedAt);
    charts = renderCharts(report, run);
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
  const fwd = r.relay.counters?.rtcForwarded;
  if (fwd !== undefined && fwd > 0 && r.relay.cpuSeconds !== undefined) console.log(`relay WebRTC edge: ${fwd} RTP packets forwarded (${(fwd / (r.scenario.durationMs / 1000)).toFixed(0)}/s), ${((1e6 * r.relay.cpuSeconds) / fwd).toFixed(1)} us relay CPU per forwarded packet (whole relay, joins excluded)`);
  if (r.leak !== undefined) for (const v of r.leak.views) console.log(`leak: ${v.view}: ${(100 * v.balancedAccuracy).toFixed(1)}% ± ${(100 * v.ci95).toFixed(1)} (goal ${v.goal}: ${v.meetsGoal ? 'met' : 'NOT met'})`);
  for (const w of r.warnings) console.log(`warning: ${w}`);
  for (const c of r.consistency) if (!c.ok) console.log(`consistency FAILED: ${c.name} (${c.detail})`);
  console.log(`report: ${join(dir, 'report.md')}`);
}
