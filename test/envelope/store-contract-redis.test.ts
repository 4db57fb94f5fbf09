/** The store contract on Redis: one durable instance, and a 3-master Redis Cluster (real redis-server processes). */
import { RedisEnvelopeStore } from '../../src/envelope/store/redis-store.js';
import { flushAll, redisOptions, useRedisSingleAndCluster } from '../helpers/redis-store.js';
import { describeStoreContract } from './store-contract.js';

const redis = useRedisSingleAndCluster();

describeStoreContract('redis single instance', () => ({
  shared: true,
  fresh: () => flushAll([redis.single]),
  open: (limits) => RedisEnvelopeStore.open(redisOptions(redis.single.url), limits),
}));

describeStoreContract('redis cluster (3 masters)', () => ({
  shared: true,
  fresh: () => flushAll(redis.cluster.nodes),
  open: (limits) => RedisEnvelopeStore.open(redisOptions(redis.cluster.url, { cluster: true }), limits),
}));
