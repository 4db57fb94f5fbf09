/**
 * npm run bench:flood -- [--duration-ms 3000] [--rates 300000] [--modes tag,random] [--cases native,ts-baseline,ts-rcvbuf,ts-guard,ts-connected,ts-all] [--priority 10]
 *
 * One legitimate 1:1 call (two sessions, profile `audio`: a 188-byte cell up per 20 ms each, every
 * cell carrying one timestamped record) next to a garbage flood at the same relay port, on
 * loopback, bounded in count and duration. Cases, each in a fresh relay process, interleaved so
 * the noise of a shared machine hits them alike:
 *  - native: the native data plane (the reference: its own thread, recvmmsg);
 *  - ts-baseline: the TypeScript plane as it was (one socket, no flood guard, kernel-default SO_RCVBUF);
 *  - ts-rcvbuf: only the 4 MiB SO_RCVBUF;
 *  - ts-guard: the flood guard (per-source/per-session buckets before the AEAD open) + 4 MiB;
 *  - ts-connected: connected per-path sockets (the call's datagrams get their own kernel queue) + 4 MiB;
 *  - ts-all: all three (media.connectedPaths is off by default: it needs SO_REUSEADDR, see the README).
 * Flood modes (loadtest/flood/flooder.c, from 127.0.0.2 so it is not the call's address):
 *  - tag: cells of the call's first session id, right length, fresh counters, bad tag: they pass
 *    every cheap check and cost an AEAD open unless the guard stops them;
 *  - random: random bytes of the cell length (unknown session: dropped by the cheap checks).
 * Each line: legit loss (records received / expected, both directions), latency, the flood's
 * sent rate, where the relay dropped (kernel queue, core drops by reason) and relay CPU.
 */
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, setPriority, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, here.includes('/dist/') ? '../../..' : '../..');
const bin = mkdtempSync(join(tmpdir(), 'xrelay-flood-'));
process.on('exit', () => rmSync(bin, { recursive: true, force: true }));

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : def;
}
const durationMs = Math.min(30_000, Number(arg('duration-ms', '3000')));
const rates = arg('rates', '300000').split(',').map(Number).map((r) => Math.min(r, 1_000_000));
const modes = arg('modes', 'tag,random').split(',');
const cases = arg('cases', 'native,ts-baseline,ts-rcvbuf,ts-guard,ts-connected,ts-all').split(',');
/**
 * --priority N: run the relay and the call's generator at nice -N (root only), the flooder at 0, so
 * that other work on a shared machine starves them less (a dedicated relay host has none). Applied to
 * every case alike; the header line says when it is on.
 */
const priority = Number(arg('priority', '0'));
const UP_BODY = 160;
const CELL = UP_BODY + 28;
const RCVBUF = 4 << 20;

const CASES: Record<string, { kind: string; guard: string; rcvbuf: string; paths: string; label: string }> = {
  native: { kind: 'native', guard: 'noguard', rcvbuf: 'default', paths: 'shared', label: 'native (N-API thread, recvmmsg)' },
  'ts-baseline': { kind: 'typescript', guard: 'noguard', rcvbuf: 'default', paths: 'shared', label: 'TypeScript, before: one socket, no guard, default SO_RCVBUF' },
  'ts-rcvbuf': { kind: 'typescript', guard: 'noguard', rcvbuf: String(RCVBUF), paths: 'shared', label: 'TypeScript, 4 MiB SO_RCVBUF only' },
  'ts-guard': { kind: 'typescript', guard: 'guard', rcvbuf: String(RCVBUF), paths: 'shared', label: 'TypeScript, flood guard + 4 MiB SO_RCVBUF' },
  'ts-connected': { kind: 'typescript', guard: 'noguard', rcvbuf: String(RCVBUF), paths: 'connected', label: 'TypeScript, connected path sockets + 4 MiB SO_RCVBUF, no guard' },
  'ts-all': { kind: 'typescript', guard: 'guard', rcvbuf: String(RCVBUF), paths: 'connected', label: 'TypeScript, after: guard + connected path sockets (media.connectedPaths on) + 4 MiB SO_RCVBUF' },
};

function build(): void {
  const node = dirname(dirname(process.execPath));
  const crypto = ['/usr/lib/x86_64-linux-gnu/libcrypto.so.3', '/usr/lib/aarch64-linux-gnu/libcrypto.so.3', '/usr/lib64/libcrypto.so.3'].find((p) => {
    try {
      readFileSync(p, { flag: 'r' });
      return true;
    } catch {
      return false;
    }
  });
  if (crypto === undefined) throw new Error('libcrypto.so.3 not found (Debian: libssl3)');
  for (const [out, args] of [
    ['loadgen', ['-O2', `-I${node}/include/node`, '-o', join(bin, 'loadgen'), join(root, 'loadtest/dataplane/loadgen.c'), crypto]],
    ['flooder', ['-O2', '-o', join(bin, 'flooder'), join(root, 'loadtest/flood/flooder.c')]],
  ] as const) {
    if (spawnSync('cc', args, { stdio: 'inherit' }).status !== 0) throw new Error(`building ${out} failed`);
  }
}

function request<T>(child: ChildProcess, msg: unknown): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (m) => resolve(m as T));
    child.send(msg as object);
  });
}

function prioritise(pid: number | undefined): void {
  if (priority > 0 && pid !== undefined) setPriority(pid, -priority);
}

function run<T>(file: string, args: string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const p = spawn(join(bin, file), args);
    if (file === 'loadgen') prioritise(p.pid);
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as T) : reject(new Error(`${file} exit ${code}`))));
  });
}

interface Gen { expectedRecords: number; receivedRecords: number; latP50Us: number; latP99Us: number; bad: number }
interface Usage { cpuMs: number; sessions: number; closes: number[]; drops: Record<string, number>; missedTicks: number; staleDrops: number; kernelDrops?: number }
export interface Row { c: string; mode: string; rate: number; loss: number; sentPerS: number; p50: number; p99: number; kernel: number; drops: Record<string, number>; cpuPct: number; missed: number }

async function step(c: string, mode: string, rate: number): Promise<Row> {
  const k = CASES[c]!;
  const child = fork(join(here, 'relay.js'), [k.kind, k.guard, k.rcvbuf, k.paths], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  prioritise(child.pid);
  try {
    await new Promise((r) => child.once('message', r));
    const file = join(bin, `sessions-${c}.txt`);
    const j = await request<{ port: number; sessions: number[] }>(child, { cmd: 'join', file });
    const u0 = await request<Usage>(child, { cmd: 'usage' });
    const t0 = Date.now();
    // loadgen: 3 ticks of dummies, durationMs of records, 400 ms to drain; the flood covers all of it.
    const floodMs = durationMs + 500;
    const [g, f] = await Promise.all([
      run<Gen>('loadgen', ['relay', String(j.port), file, String(durationMs), '20', String(UP_BODY), '2', '1']),
      rate > 0 ? run<{ sent: number; elapsedMs: number }>('flooder', [mode, String(j.port), String(j.sessions[0]), String(CELL), String(rate), String(floodMs), '127.0.0.2']) : Promise.resolve({ sent: 0, elapsedMs: floodMs }),
    ]);
    const wall = Date.now() - t0;
    if (process.env.FLOOD_DEBUG) console.log('runs done after', wall, 'ms');
    const u1 = await request<Usage>(child, { cmd: 'usage' });
    await Promise.race([request(child, { cmd: 'close' }), new Promise((r) => setTimeout(r, 2000))]);
    const drops: Record<string, number> = {};
    for (const [r, v] of Object.entries(u1.drops)) if (v - (u0.drops[r] ?? 0) > 0) drops[r] = v - (u0.drops[r] ?? 0);
    return {
      c,
      mode,
      rate,
      loss: g.expectedRecords > 0 ? Math.max(0, 1 - g.receivedRecords / g.expectedRecords) : 1,
      sentPerS: f.sent / (f.elapsedMs / 1000),
      p50: g.latP50Us / 1000,
      p99: g.latP99Us / 1000,
      kernel: (u1.kernelDrops ?? 0) - (u0.kernelDrops ?? 0),
      drops,
      cpuPct: (100 * (u1.cpuMs - u0.cpuMs)) / wall,
      missed: u1.missedTicks - u0.missedTicks,
      ...(process.env.FLOOD_DEBUG ? { u0, u1 } : {}),
    };
  } finally {
    child.kill('SIGKILL');
  }
}

function line(r: Row): string {
  const d = Object.entries(r.drops).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
  return `| ${CASES[r.c]!.label} | ${r.rate > 0 ? r.mode : 'no flood'} | ${Math.round(r.sentPerS / 1000)}k/s | **${(r.loss * 100).toFixed(1)}%** | ${r.p50.toFixed(1)} / ${r.p99.toFixed(1)} ms | ${r.kernel} | ${d} | ${r.missed} | ${r.cpuPct.toFixed(0)}% |`;
}

async function main(): Promise<void> {
  build();
  console.log(`flood bench: a 1:1 call (profile audio, ${CELL} B cells, 50 records/s each way) beside a flood of ${CELL}-byte datagrams from 127.0.0.2, ${durationMs} ms per step, ${cpus().length} CPUs shared by relay, call and flooder, loopback${priority > 0 ? `, relay and call at nice -${priority}` : ''}`);
  const rows: Row[] = [];
  for (const rate of rates) {
    for (const mode of rate > 0 ? modes : ['tag']) {
      for (const c of cases) {
        const r = await step(c, mode, rate);
        if (process.env.FLOOD_DEBUG) console.log(JSON.stringify(r));
        console.log(`  ${c.padEnd(11)} ${(rate > 0 ? mode : 'none').padEnd(6)} flood ${Math.round(r.sentPerS / 1000)}k/s  legit loss ${(r.loss * 100).toFixed(1)}%  latency p50 ${r.p50.toFixed(1)} ms p99 ${r.p99.toFixed(1)} ms  kernel drops ${r.kernel}  core drops ${JSON.stringify(r.drops)}  missed ticks ${r.missed}  relay CPU ${r.cpuPct.toFixed(0)}%`);
        rows.push(r);
      }
    }
  }
  console.log('\n| data plane | flood | flood sent | legit loss | latency p50 / p99 | kernel drops | relay drops by reason | missed ticks | relay CPU |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(line(r));
}

void main();
