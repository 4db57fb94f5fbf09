/**
 * `npm run bench:store`: durable envelope puts per second and latency at the store level (no HTTP),
 * LMDB beside Redis (one instance, AOF appendfsync always) and a 3-master Redis Cluster, in one run
 * on the same machine, so the ratios hold even where absolute figures do not. Starts its own
 * redis-server processes on loopback; bounded by --seconds per backend (default 5).
 *   --concurrency N (64) puts in flight   --size B (1024)   --mailboxes N (1000)   --no-cluster
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EnvelopeStore, StoreLimits } from '../../src/envelope/store/envelope-store.js';
import { LmdbEnvelopeStore } from '../../src/envelope/store/lmdb-store.js';
import { RedisEnvelopeStore } from '../../src/envelope/store/redis-store.js';
import { startRedis, startRedisCluster } from './redis-processes.js';

const args = process.argv.slice(2);
const arg = (name: string, def: number): number => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? def : Number(args[i + 1]);
};
const seconds = arg('seconds', 5);
const concurrency = arg('concurrency', 64);
const size = arg('size', 1024);
const mailboxCount = arg('mailboxes', 1000);
const limits: StoreLimits = { mailboxMaxCount: 1e9, mailboxMaxBytes: 1e15, storeMaxBytes: 1e15, pushMaxTargets: 1e9 };
const redisBase = { cluster: false, username: '', password: '', tls: false, tlsCaFile: '', keyPrefix: 'xr:', durability: 'aof', waitReplicas: 1, waitTimeoutMs: 1000, resyncIntervalSec: 10, assumeDurable: false } as const;

interface Result {
  name: string;
  puts: number;
  perSec: number;
  p50: number;
  p99: number;
  failed: number;
}

async function measure(name: string, store: EnvelopeStore): Promise<Result> {
  const mailboxes = Array.from({ length: mailboxCount }, () => randomBytes(32));
  const body = randomBytes(size);
  const latencies: number[] = [];
  let failed = 0;
  const started = performance.now();
  const until = started + seconds * 1000;
  const worker = async (w: number): Promise<void> => {
    for (let k = w; performance.now() < until; k += concurrency) {
      const t = performance.now();
      try {
        await store.put(mailboxes[k % mailboxCount]!, body, Date.now());
        latencies.push(performance.now() - t);
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const q = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  return { name, puts: latencies.length, perSec: latencies.length / elapsed, p50: q(0.5), p99: q(0.99), failed };
}

async function main(): Promise<void> {
  const results: Result[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'xr-store-bench-'));
  try {
    const lmdb = LmdbEnvelopeStore.open(dir, limits);
    results.push(await measure('lmdb (fsync group commit)', lmdb));
    await lmdb.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const single = await startRedis();
  try {
    const store = await RedisEnvelopeStore.open({ ...redisBase, url: single.url }, limits);
    results.push(await measure('redis single (AOF always)', store));
    await store.close();
  } finally {
    await single.stop();
  }
  if (!args.includes('--no-cluster')) {
    const cluster = await startRedisCluster();
    try {
      const store = await RedisEnvelopeStore.open({ ...redisBase, url: cluster.url, cluster: true }, limits);
      results.push(await measure('redis cluster, 3 masters (AOF always)', store));
      await store.close();
    } finally {
      await cluster.stop();
    }
  }
  const base = results[0]!.perSec;
  console.log(`store-level durable puts: ${size}-byte bodies, ${concurrency} in flight, ${mailboxCount} mailboxes, ${seconds} s each\n`);
  console.log('| store | puts/s | vs LMDB | p50 ms | p99 ms | failed |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const r of results) {
    console.log(`| ${r.name} | ${Math.round(r.perSec)} | ${(r.perSec / base).toFixed(2)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.failed} |`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
