/** The store contract on Redis: one durable instance, and a 3-master Redis Cluster (real redis-server processes). */
import { afterAll, beforeAll } from 'vitest';
import { RedisEnvelopeStore } from '../../src/envelope/store/redis-store.js';
import { type RedisCluster, type RedisProcess, startRedis, startRedisCluster } from '../helpers/redis-server.js';
import { flushAll, redisOptions } from '../helpers/redis-store.js';
import { describeStoreContract } from './store-contract.js';

let single: RedisProcess;
let cluster: RedisCluster;
beforeAll(async () => {
  [single, cluster] = await Promise.all([startRedis(), startRedisCluster()]);
}, 60_000);
afterAll(async () => {
  await single?.stop();
  await cluster?.stop();
});

describeStoreContract('redis single instance', () => ({
  shared: true,
  fresh: () => flushAll([single]),
  open: (limits) => RedisEnvelopeStore.open(redisOptions(single.url), limits),
}));

describeStoreContract('redis cluster (3 masters)', () => ({
  shared: true,
  fresh: () => flushAll(cluster.nodes),
  open: (limits) => RedisEnvelopeStore.open(redisOptions(cluster.url, { cluster: true }), limits),
}));
