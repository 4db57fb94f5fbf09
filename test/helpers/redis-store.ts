/** Options and flushing for Redis store tests. */
import { Redis } from 'ioredis';
import type { RedisStoreOptions } from '../../src/envelope/store/redis-connect.js';
import { afterAll, beforeAll } from 'vitest';
import { type RedisCluster, type RedisProcess, startRedis, startRedisCluster } from './redis-server.js';

export function redisOptions(url: string, over: Partial<RedisStoreOptions> = {}): RedisStoreOptions {
  return {
    url,
    cluster: false,
    username: '',
    password: '',
    tls: false,
    tlsCaFile: '',
    keyPrefix: 'xr:',
    durability: 'aof',
    waitReplicas: 1,
    waitTimeoutMs: 1000,
    resyncIntervalSec: 10,
    assumeDurable: false,
    ...over,
  };
}

/** FLUSHALL on every given server (every master of a Cluster). */
export async function flushAll(nodes: readonly RedisProcess[]): Promise<void> {
  for (const n of nodes) {
    const c = new Redis({ host: '127.0.0.1', port: n.port, lazyConnect: true });
    await c.connect();
    await c.flushall();
    await c.quit();
  }
}

/** One durable redis-server and one 3-master Cluster, started before the file's tests and stopped after. */
export function useRedisSingleAndCluster(): { single: RedisProcess; cluster: RedisCluster } {
  const world = {} as { single: RedisProcess; cluster: RedisCluster };
  beforeAll(async () => {
    [world.single, world.cluster] = await Promise.all([startRedis(), startRedisCluster()]);
  }, 60_000);
  afterAll(async () => {
    await world.single?.stop();
    await world.cluster?.stop();
  });
  return world;
}
