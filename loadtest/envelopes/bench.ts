/**
 * `npm run bench:envelopes`: durable envelope posts per second through the real CLI relay, against
 * a baseline measured in the same run on the same relay: GET /healthz (same HTTP stack, no store).
 * The ratio says what durability (fsync'd group commit) and validation cost over bare HTTP.
 * `-- --store redis` adds a second relay on a redis-server started here (AOF, appendfsync always;
 * the shared launcher in redis-processes.ts) and measures its durable posts in the same rounds,
 * beside LMDB and the baseline. Loopback only; bounded by --seconds (default 5 per phase).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { startRedis, type RedisProcess } from './redis-processes.js';
import { spawnRelayProcess, type RelayProcess } from '../relay-process.js';

interface Phase {
  name: string;
  reqPerSec: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

const args = process.argv.slice(2);
const arg = (name: string, def: number): number => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? def : Number(args[i + 1]);
};
const seconds = arg('seconds', 5);
const connections = arg('connections', 64);
const size = arg('size', 1024);
const withRedis = args.includes('--store') && args[args.indexOf('--store') + 1] === 'redis';

function startRelay(dataDir: string, extra: string[] = []): Promise<RelayProcess> {
  // Quotas and rates lifted: the benchmark measures durable posts, not the limits.
  return spawnRelayProcess(['--data-dir', dataDir, '--no-media-enabled', '--no-turn-enabled', '--log-level', 'info', '--envelope-post-rate-per-sec', '1e9', '--envelope-post-burst', '1000000000', '--envelope-mailbox-max-count', '100000000', '--envelope-mailbox-max-bytes', '100000000000', '--envelope-store-max-bytes', '100000000000', ...extra]);
}

async function run(name: string, opts: autocannon.Options): Promise<Phase> {
  const r = await autocannon({ ...opts, connections, duration: seconds });
  return { name, reqPerSec: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors };
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'xrelay-bench-'));
  const redisDir = mkdtempSync(join(tmpdir(), 'xrelay-bench-redis-'));
  const relay = await startRelay(dataDir);
  let redis: RedisProcess | undefined;
  let onRedis: { url: string; stop(): Promise<void> } | undefined;
  try {
    if (withRedis) {
      redis = await startRedis();
      onRedis = await startRelay(redisDir, ['--store', 'redis', '--redis-url', redis.url]);
    }
    const body = Buffer.alloc(size, 0x42);
    const mailboxes = Array.from({ length: 64 }, (_, i) => Buffer.alloc(32, i).toString('base64url'));
    const requests = mailboxes.map((m) => ({ method: 'POST' as const, path: `/v1/mailboxes/${m}/envelopes`, body }));
    // Alternate baseline and subject twice: a noisy shared machine hits both alike.
    const phases: Phase[] = [];
    for (let round = 0; round < 2; round++) {
      phases.push(await run('GET /healthz (baseline)', { url: relay.url + '/healthz' }));
      phases.push(await run(`POST ${size} B envelope, LMDB (fsync'd)`, { url: relay.url, requests }));
      if (onRedis) phases.push(await run(`POST ${size} B envelope, Redis (AOF always)`, { url: onRedis.url, requests }));
    }
    const avg = (n: string, k: keyof Phase) => {
      const ps = phases.filter((p) => p.name === n);
      return ps.reduce((s, p) => s + (p[k] as number), 0) / ps.length;
    };
    const names = [...new Set(phases.map((p) => p.name))];
    const base = names[0]!;
    console.log(`\nenvelope post benchmark: ${connections} connections, ${seconds}s per phase, 2 rounds, node ${process.version}`);
    console.log('| phase | req/s | p50 ms | p99 ms | non-2xx | errors |');
    console.log('|---|---|---|---|---|---|');
    for (const n of names) console.log(`| ${n} | ${avg(n, 'reqPerSec').toFixed(0)} | ${avg(n, 'p50').toFixed(1)} | ${avg(n, 'p99').toFixed(1)} | ${avg(n, 'non2xx')} | ${avg(n, 'errors')} |`);
    for (const n of names.slice(1)) console.log(`ratio: ${n} runs at ${(avg(n, 'reqPerSec') / avg(base, 'reqPerSec')).toFixed(2)}x the bare-HTTP baseline`);
  } finally {
    await relay.stop();
    await onRedis?.stop();
    await redis?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(redisDir, { recursive: true, force: true });
  }
}

await main();
