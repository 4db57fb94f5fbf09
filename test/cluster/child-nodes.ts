/**
 * Relay nodes of one cluster as child processes of the real CLI (so kill -9 and SIGTERM are real),
 * on one redis-server the test file starts: what the failover tests share. Each node gets its own
 * data dir, ephemeral ports, media on, and the given lease timing; all are killed and cleaned up
 * after the file.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll } from 'vitest';
import { spawnRelay, type ChildRelay } from '../helpers/child-relay.js';
import { startRedis, type RedisProcess } from '../helpers/redis-server.js';
import { tempDir } from '../helpers/relay.js';

export interface ChildCluster {
  /** The redis-server (set before the file's tests run). */
  redis: RedisProcess;
  /** Starts one more node with `args` added to the common ones. */
  node(...args: string[]): Promise<ChildRelay>;
}

export function useChildCluster(lease: { ttlMs: number; renewMs: number }): ChildCluster {
  const dirs: string[] = [];
  const nodes: ChildRelay[] = [];
  const world: ChildCluster = {
    redis: undefined as unknown as RedisProcess,
    async node(...args) {
      const dataDir = tempDir();
      dirs.push(dataDir);
      const relay = await spawnRelay([
        '--data-dir', dataDir, '--store', 'redis', '--redis-url', world.redis.url, '--log-level', 'info',
        '--media-enabled', '--media-udp-port', '0',
        '--cluster-lease-ttl-ms', String(lease.ttlMs), '--cluster-lease-renew-ms', String(lease.renewMs),
        ...args,
      ]);
      nodes.push(relay);
      return relay;
    },
  };
  beforeAll(async () => {
    world.redis = await startRedis();
  }, 30_000);
  afterAll(async () => {
    for (const n of nodes) if (n.proc.exitCode === null && n.proc.signalCode === null) n.proc.kill('SIGKILL');
    await Promise.all(nodes.map((n) => n.exited));
    await world.redis?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  return world;
}
