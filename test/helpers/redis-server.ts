/** Tests start their own redis-server processes (single durable instance, 3-master Cluster); one launcher, shared with the store bench. */
export { freePort, type RedisCluster, type RedisProcess, startRedis, startRedisCluster } from '../../loadtest/envelopes/redis-processes.js';
