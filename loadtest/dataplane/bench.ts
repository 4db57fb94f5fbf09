/**
 * npm run bench:dataplane -- [--duration-ms 2000] [--room-size 2] [--planes fwd,fwd508,native,ts]
 *
 * npm run bench:dataplane -- --ns 4000,5000 --overload 1.25,1.5,2 --duration-ms 3000
 *
 * N padded audio sessions (profile `audio`: one 188-byte cell up and one 508-byte cell down per
 * 20 ms tick per session) in rooms of `room-size` on loopback, through the data planes measured in
 * the same run, interleaved at each N:
 *  - fwd: a minimal C recvmmsg/sendmmsg forwarder with no crypto (the practical limit), echoing
 *    the generator's 188-byte cells to the peer session;
 *  - fwd508: the same forwarder zero-padding each datagram to 508 bytes, so it moves the relay's
 *    sizes (188 B in, 508 B out per cell);
 *  - native: the native data plane (opens each 188-byte cell, fans out, seals a 508-byte cell per
 *    session per tick, padded with dummies);
 *  - ts: the TypeScript data plane.
 * The ladder climbs the session counts of --ns until a step loses 0.1% twice; each plane is
 * reported at its largest N under it: forwarded cells/s, relay CPU time per thousand cells, added
 * latency p50/p99 (send to receive, relay included), relay memory per session (C heap and RSS
 * growth over the joins and the run, the join loop's own allocations excluded). Then, past each
 * plane's capacity (--overload factors), loss against offered load, and the ratios. Each step
 * line ends with where the loss happened (kernel queue drops at the relay and the generator,
 * relay queue/stale drops, missed pacer ticks, late generator slices). The load generator
 * (loadgen.c) is C so that it is rarely the limit; on 2 shared cores it is near it at ~300k
 * cells/s.
 */
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, here.includes('/dist/') ? '../../..' : '../..');
const src = join(root, 'loadtest', 'dataplane');
// Outside native/build: `npm run build:native` (node-gyp rebuild) wipes that directory, and
// another build may run while a bench does. One private directory per run, removed at exit.
const bin = mkdtempSync(join(tmpdir(), 'xrelay-bench-'));
process.on('exit', () => rmSync(bin, { recursive: true, force: true }));

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : def;
}
const durationMs = Number(arg('duration-ms', '2000'));
const roomSize = Number(arg('room-size', '2'));
const planes = arg('planes', 'fwd,fwd508,native,ts').split(',');
/** Extra environment for the relay process only (e.g. OPENSSL_ia32cap=:~0x10000), K=V[,K=V]. */
const relayEnv = Object.fromEntries(
  arg('relay-env', '')
    .split(',')
    .filter((kv) => kv.includes('='))
    .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
);
const overloadPlanes = arg('overload-planes', 'native').split(',');
const overload = arg('overload', '1.25,1.5,2').split(',').map(Number).filter((f) => f > 1);
const ladderNs = arg('ns', '250,500,1000,2000,3000,4000,5000,6000,7000,8000,10000,12000').split(',').map(Number);
const TICK = 20;
const UP_BODY = 160;
/** The audio profile's down cell (480-byte body + 28): what the relay sends per session per tick. */
const DOWN_CELL = 508;
const isFwd = (plane: string): boolean => plane === 'fwd' || plane === 'fwd508';

interface Gen {
  sessions: number;
  sentRecords: number;
  expectedRecords: number;
  receivedRecords: number;
  downCells: number;
  bad: number;
  sendFail: number;
  lateSlices: number;
  latP50Us: number;
  latP99Us: number;
  cpuMs: number;
}
interface RelayStats {
  queueDrops: number;
  staleDrops: number;
  missedTicks: number;
  cellsIn: number;
  recvBatches?: number;
}
interface Step {
  n: number;
  loss: number;
  cellsPerS: number;
  cpuPerKCellsMs: number;
  latP50Us: number;
  latP99Us: number;
  bytesPerSession: number;
  heapPerSession: number;
  footprint: number;
  ok: boolean;
  /** CPU share (%) used by other processes on the machine during the step. */
  otherPct: number;
  /** Cells/s the generator managed to send (below the offered N/tick when it is itself the limit). */
  sentPerS: number;
  /** Where the loss happened: the relay socket's kernel drops, the generator sockets' kernel drops, relay counters. */
  diag: string;
}

function build(): void {
  mkdirSync(bin, { recursive: true });
  const node = dirname(dirname(process.execPath));
  const crypto = ['/usr/lib/x86_64-linux-gnu/libcrypto.so.3', '/usr/lib/aarch64-linux-gnu/libcrypto.so.3', '/usr/lib64/libcrypto.so.3'].find((p) => {
    try {
      readFileSync(p, { flag: 'r' }).length;
      return true;
    } catch {
      return false;
    }
  });
  if (crypto === undefined) throw new Error('libcrypto.so.3 not found (Debian: libssl3)');
  for (const [out, args] of [
    ['c-forwarder', ['-O2', '-o', join(bin, 'c-forwarder'), join(src, 'c-forwarder.c')]],
    ['loadgen', ['-O2', `-I${node}/include/node`, '-o', join(bin, 'loadgen'), join(src, 'loadgen.c'), crypto]],
  ] as const) {
    const r = spawnSync('cc', args, { stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`building ${out} failed`);
  }
}

function request<T>(child: ChildProcess, msg: unknown): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (m) => resolve(m as T));
    child.send(msg as object);
  });
}

function cpuMsOf(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime + stime in clock ticks (USER_HZ 100)
}
function rssOf(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * 4096;
}

/** Busy CPU time of the whole machine (ms), from /proc/stat. */
function machineBusyMs(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3]! + f[4]!;
  return ((f.slice(0, 8).reduce((a, b) => a + b, 0) - idle) * 1000) / 100;
}

/** Kernel receive-queue drops per local UDP port (the last column of /proc/net/udp{,6}). */
function udpDrops(): Map<number, number> {
  const m = new Map<number, number>();
  for (const f of ['/proc/net/udp', '/proc/net/udp6']) {
    let text = '';
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const c = line.trim().split(/\s+/);
      if (c.length < 13) continue;
      const port = parseInt(c[1]!.split(':')[1]!, 16);
      m.set(port, (m.get(port) ?? 0) + Number(c[c.length - 1]));
    }
  }
  return m;
}

function runGen(mode: 'relay' | 'fwd', port: number, file: string, n: number): Promise<Gen> {
  return new Promise((resolve, reject) => {
    const sockets = Math.min(16, Math.max(1, Math.ceil(n / 1000)));
    const g = spawn(join(bin, 'loadgen'), [mode, String(port), file, String(durationMs), String(TICK), String(UP_BODY), String(roomSize), String(sockets)]);
    let out = '';
    g.stdout.on('data', (d: Buffer) => (out += d.toString()));
    g.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as Gen) : reject(new Error(`loadgen exit ${code}`))));
  });
}

async function step(plane: string, n: number, tmp: string): Promise<Step> {
  const file = join(tmp, `sessions-${plane}-${n}.txt`);
  let port: number;
  let child: ChildProcess;
  let rss0: number;
  let heap0 = 0;
  let footprint = 0;
  const cpu = async (): Promise<{ cpuMs: number; rss: number; heap?: number }> => (isFwd(plane) ? { cpuMs: cpuMsOf(child.pid!), rss: rssOf(child.pid!) } : request(child, { cmd: 'usage' }));
  if (isFwd(plane)) {
    child = spawn(join(bin, 'c-forwarder'), ['0', plane === 'fwd508' ? String(DOWN_CELL) : '0']);
    heap0 = NaN;
    port = await new Promise<number>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(Number(/port (\d+)/.exec(d.toString())![1]))));
    rss0 = rssOf(child.pid!);
    writeFileSync(file, Array.from({ length: n }, (_, i) => `${i} ${'0'.repeat(64)} ${'0'.repeat(64)}`).join('\n') + '\n');
  } else {
    child = fork(join(here, 'bench-relay.js'), [plane === 'native' ? 'native' : 'typescript'], { execArgv: ['--expose-gc'], env: { ...process.env, ...relayEnv } });
    await new Promise((r) => child.once('message', r));
    const j = await request<{ port: number; rss0: number; heap0: number; footprint: number }>(child, { cmd: 'join', n, roomSize, profile: 'audio', file });
    port = j.port;
    rss0 = j.rss0;
    heap0 = j.heap0;
    footprint = j.footprint;
  }
  const drops0 = udpDrops();
  const before = await cpu();
  const busy0 = machineBusyMs();
  const t0 = Date.now();
  const g = await runGen(isFwd(plane) ? 'fwd' : 'relay', port, file, n);
  const after = (await cpu()) as { cpuMs: number; rss: number; heap?: number; stats?: RelayStats };
  const drops1 = udpDrops();
  // CPU used on the machine by anything but the relay and the generator (other jobs skew a step).
  const otherPct = (100 * (machineBusyMs() - busy0 - (after.cpuMs - before.cpuMs) - g.cpuMs)) / (Date.now() - t0);
  let relayDrops = 0;
  let otherDrops = 0;
  for (const [p, d] of drops1) {
    const delta = d - (drops0.get(p) ?? 0);
    if (p === port) relayDrops += delta;
    else otherDrops += delta;
  }
  const st = after.stats;
  const diag =
    `kdrop relay ${relayDrops} gen ${otherDrops}` +
    (st ? `${st.recvBatches ? `, ${(st.cellsIn / st.recvBatches).toFixed(1)} cells/recv batch` : ''}, qdrop ${st.queueDrops}, stale ${st.staleDrops}, missed ticks ${st.missedTicks}` : '') +
    (g.lateSlices ? `, gen late ${g.lateSlices}` : '') +
    `, other CPU ${Math.max(0, otherPct).toFixed(0)}%`;
  if (isFwd(plane)) child.kill('SIGKILL');
  else await Promise.race([request(child, { cmd: 'close' }), new Promise((r) => setTimeout(r, 2000))]).finally(() => child.kill('SIGKILL'));
  const loss = g.expectedRecords > 0 ? Math.max(0, 1 - g.receivedRecords / g.expectedRecords) : 1;
  return {
    n,
    loss,
    cellsPerS: g.receivedRecords / (durationMs / 1000),
    cpuPerKCellsMs: (after.cpuMs - before.cpuMs) / (g.downCells / 1000),
    latP50Us: g.latP50Us,
    latP99Us: g.latP99Us,
    bytesPerSession: (after.rss - rss0) / n,
    heapPerSession: after.heap === undefined ? 0 : (after.heap - heap0) / n,
    footprint,
    ok: loss < 0.001 && g.bad === 0,
    otherPct,
    sentPerS: (g.sentRecords * (roomSize - 1)) / (durationMs / 1000),
    diag,
  };
}

/** Other jobs on a 2-core machine skew a step: a lossy step run beside more than this is re-run. */
const OTHER_CPU_MAX_PCT = 25;

/** One step, re-run (up to twice) when it lost cells while other processes used the machine. */
async function measure(p: string, n: number, tmp: string): Promise<Step> {
  let s = await step(p, n, tmp);
  log(p, s);
  for (let i = 0; i < 2 && !s.ok && s.otherPct > OTHER_CPU_MAX_PCT; i++) {
    console.log(`  (re-run: ${s.otherPct.toFixed(0)}% CPU used by other processes)`);
    s = await step(p, n, tmp);
    log(p, s);
  }
  return s;
}

/**
 * One ladder of session counts for all planes, interleaved (fwd, native, ts at each N) so that the
 * noise of a shared machine hits them alike. A plane leaves the ladder after a lossy step that a
 * retry confirms; its result is its largest N under 0.1% loss.
 */
async function ladder(tmp: string): Promise<{ best: Record<string, Step | undefined>; all: Record<string, Step[]> }> {
  const ns = ladderNs.map((n) => Math.round(n / roomSize) * roomSize);
  const alive = new Set(planes);
  const best: Record<string, Step | undefined> = {};
  const all: Record<string, Step[]> = {};
  for (const n of ns) {
    for (const p of planes) {
      if (!alive.has(p)) continue;
      let s = await measure(p, n, tmp);
      if (!s.ok) s = await measure(p, n, tmp);
      (all[p] ??= []).push(s);
      if (s.ok) best[p] = s;
      else alive.delete(p);
    }
    if (alive.size === 0) break;
  }
  return { best, all };
}

function log(plane: string, s: Step): void {
  console.log(
    `  ${plane.padEnd(6)} N=${String(s.n).padStart(6)}  loss ${(s.loss * 100).toFixed(3).padStart(7)}%  ${Math.round(s.cellsPerS).toString().padStart(7)} cells/s  ` +
      `cpu ${s.cpuPerKCellsMs.toFixed(2)} ms/kcell  latency p50 ${(s.latP50Us / 1000).toFixed(2)} ms p99 ${(s.latP99Us / 1000).toFixed(2)} ms  ` +
      `mem/session: rss ${Math.round(s.bytesPerSession)} B, heap ${Math.round(s.heapPerSession)} B${s.footprint ? `, struct ${s.footprint} B` : ''}  ${s.ok ? 'ok' : 'LOSS'}  [${s.diag}]`,
  );
}

let name: Record<string, string> = {};

async function main(): Promise<void> {
  build();
  const tmp = bin;
  console.log(`data-plane bench: profile audio (${UP_BODY + 28} B up, 508 B down per ${TICK} ms), rooms of ${roomSize}, ${durationMs} ms per step, ${cpus().length} CPUs shared with the load generator, loopback`);
  const { best: res, all } = await ladder(tmp);
  const first = (p: string): Step | undefined => all[p]?.[0];
  console.log('\nresult (largest N with < 0.1% loss):');
  console.log('| data plane | sessions | forwarded cells/s | CPU ms / 1k cells | latency p50 / p99 | memory / session |');
  console.log('|---|---|---|---|---|---|');
  name = {
    fwd: 'C recvmmsg/sendmmsg forwarder, no crypto: echoes 188 B',
    fwd508: `C forwarder, no crypto: 188 B in, ${DOWN_CELL} B out (the relay's sizes)`,
    native: `native (N-API addon): 188 B in, ${DOWN_CELL} B sealed cells out`,
    ts: 'TypeScript (node:dgram)',
  };
  for (const p of planes) {
    const s = res[p];
    if (s === undefined) console.log(`| ${name[p]} | none under 0.1% loss | | | | |`);
    else console.log(`| ${name[p]} | ${s.n} | ${Math.round(s.cellsPerS)} | ${s.cpuPerKCellsMs.toFixed(2)} | ${(s.latP50Us / 1000).toFixed(2)} / ${(s.latP99Us / 1000).toFixed(2)} ms | ${Math.round(s.heapPerSession)} B heap, ${Math.round(s.bytesPerSession)} B RSS |`);
  }
  if (overload.length > 0) {
    // Past capacity: offered load at multiples of the plane's own capacity (its largest N under
    // 0.1% loss). Graceful means delivered cells/s stay near capacity and loss grows with the
    // excess, not a collapse. A padded relay cannot quite reach a forwarder's 1 - 1/x: its pacer
    // sends every session's cell each tick whatever arrives, so each extra session costs output
    // before its input is served. The forwarders are left out by default: on 2 shared cores the
    // generator, not the forwarder, is their limit.
    console.log('\noverload (offered load past capacity):');
    const rows: string[] = [];
    for (const p of overloadPlanes.filter((x) => planes.includes(x))) {
      const b = res[p];
      if (b === undefined) continue;
      for (const f of overload) {
        const n = Math.round((b.n * f) / roomSize) * roomSize;
        const s = await measure(p, n, tmp);
        rows.push(`| ${name[p]} | ${f}x (N=${n}, ${Math.round((n * 1000) / TICK)} cells/s offered) | ${Math.round(s.sentPerS)} | ${(s.loss * 100).toFixed(1)}% | ${(100 * (1 - 1 / f)).toFixed(0)}% | ${Math.round(s.cellsPerS)} | ${(s.latP50Us / 1000).toFixed(1)} / ${(s.latP99Us / 1000).toFixed(1)} ms | ${s.diag} |`);
      }
    }
    console.log('| data plane | offered load (x capacity) | generator sent cells/s | loss of sent | 1 - 1/x (a forwarder\'s ideal) | delivered cells/s | latency p50 / p99 | where |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const r of rows) console.log(r);
  }
  const nat = res.native;
  const f0 = first('fwd');
  const n0 = first('native');
  const t0 = first('ts');
  if (f0 && n0 && t0 && f0.n === n0.n && n0.n === t0.n) {
    console.log(`\nat the same load (N=${n0.n}, ${Math.round(n0.cellsPerS)} cells/s): CPU ms per 1k cells: C forwarder ${f0.cpuPerKCellsMs.toFixed(2)}, native ${n0.cpuPerKCellsMs.toFixed(2)}, TypeScript ${t0.cpuPerKCellsMs.toFixed(2)}`);
  }
  console.log('\nratios (cells/s at < 0.1% loss, same run):');
  for (const base of ['fwd', 'fwd508']) {
    const b = res[base];
    if (nat && b) console.log(`  native / ${name[base]}: ${(nat.cellsPerS / b.cellsPerS).toFixed(2)}x (goal >= 0.70x)`);
  }
  const t = res.ts;
  if (nat && t) console.log(`  native / TypeScript: ${(nat.cellsPerS / t.cellsPerS).toFixed(1)}x cells/s (goal >= 4x); CPU per cell ${(t.cpuPerKCellsMs / nat.cpuPerKCellsMs).toFixed(1)}x less`);
  if (nat) console.log(`  native memory per session: ${Math.round(nat.heapPerSession)} B of C heap (${nat.footprint} B session struct + queue ring), ${Math.round(nat.bytesPerSession)} B process RSS growth, join loop excluded (goal <= 4096 B)`);
}

void main();
