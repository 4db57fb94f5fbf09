/**
 * Room-lease operations on Redis (cluster mode), for sizing: how many lease renewals and placements
 * per second one Redis (AOF appendfsync always, as the envelope store requires) takes, with latency.
 * A node renews each of its rooms with members every cluster.leaseRenewMs, so a cluster of R busy
 * rooms costs R / leaseRenewMs renewals per second; a join costs at most one placement per node it
 * touches. Starts its own redis-server on loopback; bounded by --seconds per operation (default 5).
 *   node dist/loadtest/cluster/lease-bench.js [--seconds 5] [--concurrency 64] [--rooms 10000]
 */
import { randomBytes } from 'node:crypto';
import { RedisRoomRegistry } from '../../src/media/store/redis-room-registry.js';
import { startRedis } from '../envelopes/redis-processes.js';

const args = process.argv.slice(2);
const arg = (name: string, def: number): number => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? def : Number(args[i + 1]);
};
const seconds = arg('seconds', 5);
const concurrency = arg('concurrency', 64);
const roomCount = arg('rooms', 10_000);
const TTL = 6_000;

async function measure(name: string, op: (i: number) => Promise<unknown>): Promise<string> {
  const lat: number[] = [];
  let n = 0;
  let failed = 0;
  const until = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        const t = performance.now();
        try {
          await op(n++);
          lat.push(performance.now() - t);
        } catch {
          failed++;
        }
      }
    }),
  );
  lat.sort((x, y) => x - y);
  const q = (p: number): string => (lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? NaN).toFixed(1);
  return `| ${name} | ${Math.round(lat.length / seconds).toLocaleString('en').replace(/,/g, ' ')} | ${q(0.5)} | ${q(0.99)} | ${failed} |`;
}

async function main(): Promise<void> {
  const redis = await startRedis();
  const opts = { url: redis.url, cluster: false, username: '', password: '', tls: false, tlsCaFile: '', keyPrefix: 'xr:', durability: 'aof', waitReplicas: 1, waitTimeoutMs: 1000, resyncIntervalSec: 10, assumeDurable: false } as const;
  const reg = new RedisRoomRegistry(opts);
  try {
    const rooms = Array.from({ length: roomCount }, () => randomBytes(16).toString('base64url'));
    const live = ['node-a', 'node-b', 'node-c'];
    const rows = [
      await measure('placement (PLACE script: new room claimed)', (i) => reg.place(randomBytes(16).toString('base64url'), live[i % 3]!, live, TTL)),
      await measure('placement of a held room (owner kept)', (i) => reg.place(rooms[i % 100]!, 'node-a', live, TTL)),
      await measure('lease renewal (RENEW script, PEXPIRE)', (i) => reg.renew(rooms[i % roomCount]!, 'node-a', TTL)),
      await measure('node registration + view of 3 nodes (HEARTBEAT)', (i) => reg.heartbeat({ id: live[i % 3]!, url: 'http://x', udp: { host: '127.0.0.1', port: 1 }, sessions: i, rooms: 1, draining: false }, TTL)),
    ];
    console.log(`Room lease operations on one Redis (AOF appendfsync always), ${concurrency} in flight, ${seconds} s each\n`);
    console.log('| operation | ops/s | p50 ms | p99 ms | failed |\n|---|---:|---:|---:|---:|');
    for (const r of rows) console.log(r);
  } finally {
    await reg.close();
    await redis.stop();
  }
}

void main();
