/**
 * bench:turn: the same turnutils_uclient load against coturn (Debian package `coturn`) and against
 * our TURN plane on its native data path and on its TypeScript one (turn.dataPlane), rotating the
 * order, on loopback. For each load level (parallel uclient processes, each
 * with BENCH_CLIENTS clients sending every 1 ms through channels to turnutils_peer, which echoes),
 * it reports delivered messages/s, loss, and the server's CPU (all threads) per delivered message.
 * The best level whose median loss over the rounds is <= 0.1% is each server's rate (medians, since the
 * machine may be shared); the ratios compare ours to coturn.
 *
 * Env: BENCH_LEVELS (default "2,4,6,8" processes), BENCH_CLIENTS (100), BENCH_MSGS (2000 per client),
 * BENCH_SIZE (120 bytes), BENCH_ROUNDS (3), BENCH_TS_LEVELS (levels at which the TypeScript data path is
 * also measured, default "1": beyond its limit it only loses and takes long; empty skips it).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { cpuSeconds, runUclient } from './uclient.js';

const LEVELS = (process.env.BENCH_LEVELS ?? '2,4,6,8').split(',').map(Number);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 100);
const MSGS = Number(process.env.BENCH_MSGS ?? 2000);
const SIZE = Number(process.env.BENCH_SIZE ?? 120);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const TS_LEVELS = (process.env.BENCH_TS_LEVELS ?? '1').split(',').filter((x) => x !== '').map(Number);
const WITH_TS = TS_LEVELS.length > 0;
const MAX_LOSS = 0.001;
const USER = 'bench';
const PASSWORD = 'bench-password';
const REALM = 'xentrop-relay';

type ServerName = 'coturn' | 'native' | 'typescript';

interface Server {
  name: ServerName;
  port: number;
  child: ChildProcess;
}

interface Run {
  delivered: number;
  sent: number;
  rate: number;
  loss: number;
  cpuSec: number;
  wallSec: number;
}

function need(cmd: string): void {
  if (spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0) {
    console.error(`bench:turn needs ${cmd}: apt-get install -y coturn`);
    process.exit(2);
  }
}

async function freePort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function startCoturn(port: number): Promise<Server> {
  const child = spawn(
    'turnserver',
    ['-n', '--no-cli', '--no-tls', '--no-dtls', '--listening-ip', '127.0.0.1', '--relay-ip', '127.0.0.1', '--listening-port', String(port),
      '--min-port', '20000', '--max-port', '29999', '--lt-cred-mech', '--user', `${USER}:${PASSWORD}`, '--realm', REALM,
      '--allow-loopback-peers', '--log-file', 'stdout', '--simple-log', '--pidfile', `/tmp/xrelay-bench-coturn-${port}.pid`, '--no-stdout-log'],
    { stdio: 'ignore' },
  );
  await sleep(1000);
  return { name: 'coturn', port, child };
}

async function startOurs(port: number, dataPlane: 'native' | 'typescript'): Promise<Server> {
  const serve = fileURLToPath(new URL('./serve.js', import.meta.url));
  const config = {
    turn: {
      port, dataPlane, relayPortMin: 30000, relayPortMax: 39999, realm: REALM, staticUsers: [`${USER}:${PASSWORD}`], peerAllowList: ['127.0.0.1/32'],
      // A load generator on one address opens thousands of allocations: lift the per-user and per-source limits.
      maxAllocationsPerUser: 100_000, unauthRatePerSec: 100_000, unauthBurst: 100_000,
    },
  };
  // XRELAY_NATIVE would override turn.dataPlane: the bench sets the path per server itself.
  const env = { ...process.env };
  delete env.XRELAY_NATIVE;
  const child = spawn(process.execPath, [serve, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'inherit'], env });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', () => reject(new Error('our TURN server exited')));
  });
  return { name: dataPlane, port, child };
}

async function runLevel(server: Server, procs: number, peerPort: number, msgs = MSGS): Promise<Run> {
  const pid = server.child.pid!;
  const cpu0 = cpuSeconds(pid);
  const t0 = Date.now();
  const args = ['-u', USER, '-w', PASSWORD, '-p', String(server.port), '-e', '127.0.0.1', '-r', String(peerPort),
    '-n', String(msgs), '-m', String(CLIENTS), '-l', String(SIZE), '-z', '1', '-c', '127.0.0.1'];
  const results = await Promise.all(Array.from({ length: procs }, () => runUclient(args)));
  const cpuSec = cpuSeconds(pid) - cpu0;
  const sent = results.reduce((n, r) => n + r.sent, 0);
  const delivered = results.reduce((n, r) => n + r.received, 0);
  const transmit = Math.max(1, ...results.map((r) => r.transmitSec));
  const failed = results.find((r) => !r.ok);
  if (failed) console.error(`[${server.name}] a uclient failed:\n${failed.output}`);
  const expected = procs * CLIENTS * msgs;
  return { delivered, sent, rate: delivered / transmit, loss: 1 - delivered / expected, cpuSec, wallSec: (Date.now() - t0) / 1000 };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function main(): Promise<void> {
  need('turnserver');
  need('turnutils_uclient');
  need('turnutils_peer');
  const peerPort = await freePort();
  const peer = spawn('turnutils_peer', ['-p', String(peerPort), '-L', '127.0.0.1'], { stdio: 'ignore' });
  const servers = [await startCoturn(await freePort()), await startOurs(await freePort(), 'native')];
  if (WITH_TS) servers.push(await startOurs(await freePort(), 'typescript'));
  const table: Record<string, Record<number, Run[]>> = Object.fromEntries(servers.map((s) => [s.name, {}]));
  // Warm-up (not recorded): the first load on a fresh server and system loses packets for reasons
  // unrelated to the server (allocation burst, socket buffers growing, page faults), coturn included.
  for (const s of servers) await runLevel(s, 1, peerPort, Math.min(MSGS, 200));
  console.log(
    `bench:turn  ${CLIENTS} clients x ${MSGS} msgs x ${SIZE} B per uclient, 1 ms interval, channels, UDP, levels ${LEVELS.join('/')} uclient processes` +
      `${WITH_TS ? ` (TypeScript path at ${TS_LEVELS.join('/')})` : ''}, ${ROUNDS} rounds`,
  );
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const level of [...new Set([...LEVELS, ...TS_LEVELS])].sort((a, b) => a - b)) {
        // Rotate who goes first, so no server always runs right after another's load.
        const here = servers.filter((x) => (x.name === 'typescript' ? TS_LEVELS : LEVELS).includes(level));
        const shift = (round + level) % Math.max(1, here.length);
        const order = [...here.slice(shift), ...here.slice(0, shift)];
        for (const s of order) {
          const r = await runLevel(s, level, peerPort);
          (table[s.name]![level] ??= []).push(r);
          console.log(
            `  round ${round + 1} level ${level} ${s.name.padEnd(10)} delivered ${r.delivered}/${level * CLIENTS * MSGS}  ${Math.round(r.rate)} msg/s  loss ${(r.loss * 100).toFixed(3)}%  cpu ${r.cpuSec.toFixed(2)} s (${((r.cpuSec / r.delivered) * 1e6).toFixed(1)} us/msg)`,
          );
          await sleep(500);
        }
      }
    }
  } finally {
    for (const s of servers) s.child.kill('SIGTERM');
    peer.kill('SIGTERM');
  }
  const best: Record<string, { rate: number; usPerMsg: number; level: number; cpuPct: number }> = {};
  for (const { name } of servers) {
    for (const level of Object.keys(table[name]!).map(Number)) {
      const runs = table[name]![level] ?? [];
      if (runs.length === 0 || median(runs.map((r) => r.loss)) > MAX_LOSS) continue;
      const rate = median(runs.map((r) => r.rate));
      const usPerMsg = median(runs.map((r) => (r.cpuSec / r.delivered) * 1e6));
      if (!best[name] || rate > best[name]!.rate) best[name] = { rate, usPerMsg, level, cpuPct: (usPerMsg * rate) / 1e4 };
    }
  }
  console.log('\nbest level at <= 0.1% median loss (medians of rounds):');
  for (const [name, b] of Object.entries(best)) {
    console.log(`  ${name.padEnd(10)} ${Math.round(b.rate)} msg/s at level ${b.level}, server CPU ${b.usPerMsg.toFixed(1)} us/msg (~${b.cpuPct.toFixed(0)}% of a core at that rate)`);
  }
  const c = best.coturn;
  console.log('');
  for (const name of ['native', 'typescript'] as const) {
    const o = best[name];
    if (!servers.some((s) => s.name === name)) continue;
    if (c && o) {
      console.log(`ratio ours (${name})/coturn: delivered msg/s ${(o.rate / c.rate).toFixed(2)}x, CPU per msg ${(o.usPerMsg / c.usPerMsg).toFixed(2)}x (lower is better)`);
    } else {
      console.log(`no ratio for ${name}: a server lost more than 0.1% at every level`);
    }
  }
  console.log(JSON.stringify({ bench: 'turn', clients: CLIENTS, msgs: MSGS, size: SIZE, levels: LEVELS, best }));
}

await main();
