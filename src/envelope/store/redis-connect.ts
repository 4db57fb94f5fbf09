/**
 * Connecting the Redis envelope store: the client, and the start-up durability check.
 *
 * Client: ioredis (6.x, maintained under the redis org). Chosen over node-redis for what this store
 * leans on: a Cluster client that follows MOVED/ASK and refreshes slots by itself and, above all,
 * pipelines routed by slot even when they hold a keyless command, which is how `WAIT` is sent on the
 * very connection that carried the write; scripts defined once (`defineCommand`) and sent as EVALSHA
 * with an automatic EVAL fallback on NOSCRIPT (a restarted or failed-over node), in pipelines too;
 * Buffer replies for binary ids and bodies; TLS (`rediss://` or `tls` options) and AUTH with ACL users.
 * node-redis (v5/6) offers Cluster, scripts and TLS as well, but its cluster client cannot pin a keyless
 * command to a slot's node, and its 5-package meta-install is heavier; both are actively released.
 */
import { Cluster, type Redis } from 'ioredis';
import { createRedisClient, type RedisClient, type RedisStoreOptions } from '../../redis/redis-client.js';
import { RelayError } from '../../errors.js';
import { ACK_LUA, ADJUST_LUA, CLAIM_LUA, EXPIRE_LUA, LIST_LUA, PUSH_ADMIT_LUA, PUT_LUA, PUT_ONE_LUA, REINDEX_LUA, RELEASE_LUA, RESERVE_LUA } from './redis-scripts.js';

export { createRedisClient, type RedisClient, type RedisClientExtras, type RedisStoreOptions } from '../../redis/redis-client.js';

const SCRIPTS = {
  xrPut: { lua: PUT_LUA, numberOfKeys: 3 },
  xrPutOne: { lua: PUT_ONE_LUA, numberOfKeys: 5 },
  xrList: { lua: LIST_LUA, numberOfKeys: 2, readOnly: true },
  xrAck: { lua: ACK_LUA, numberOfKeys: 3 },
  xrAckOne: { lua: ACK_LUA, numberOfKeys: 4 },
  xrExpire: { lua: EXPIRE_LUA, numberOfKeys: 3 },
  xrExpireOne: { lua: EXPIRE_LUA, numberOfKeys: 4 },
  xrReserve: { lua: RESERVE_LUA, numberOfKeys: 1 },
  xrPushAdmit: { lua: PUSH_ADMIT_LUA, numberOfKeys: 1 },
  xrAdjust: { lua: ADJUST_LUA, numberOfKeys: 1 },
  xrClaim: { lua: CLAIM_LUA, numberOfKeys: 1 },
  xrRelease: { lua: RELEASE_LUA, numberOfKeys: 1 },
  xrReindex: { lua: REINDEX_LUA, numberOfKeys: 1 },
} as const;

const OPEN_TIMEOUT_MS = 10_000;

/** Opens the client and waits until it is connected (and, for a Cluster, has its slots). */
export async function connectRedis(opts: RedisStoreOptions): Promise<RedisClient> {
  const client = createRedisClient(opts);
  for (const [name, def] of Object.entries(SCRIPTS)) client.defineCommand(name, def);
  let timer: NodeJS.Timeout | undefined;
  try {
    // A Cluster whose state is not ok can keep connect() pending: bound it, the plane retries the open.
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`not ready after ${OPEN_TIMEOUT_MS} ms`)), OPEN_TIMEOUT_MS)));
    await Promise.race([client.connect(), timeout]);
  } catch (err) {
    client.disconnect();
    throw new RelayError('store_unavailable', `cannot connect to Redis: ${(err as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
  return client;
}

/** The primaries whose persistence decides durability: the one instance, or every Cluster master. */
function primaries(client: RedisClient): Redis[] {
  return client instanceof Cluster ? client.nodes('master') : [client];
}

/**
 * Refuses to start on a Redis that would answer a write before it is on disk: with `aof`, every
 * primary must run `appendonly yes` and `appendfsync always` (Redis then fsyncs the AOF before it
 * sends the reply). `wait` adds replica acknowledgements but the primary's AOF must still be durable.
 * When CONFIG is refused (managed Redis), starts only with `assumeDurable`, reporting a warning.
 */
export async function checkDurability(client: RedisClient, opts: RedisStoreOptions, warn: (msg: string) => void): Promise<void> {
  for (const node of primaries(client)) {
    let appendonly: string;
    let appendfsync: string;
    try {
      const a = (await node.config('GET', 'appendonly')) as string[];
      const f = (await node.config('GET', 'appendfsync')) as string[];
      appendonly = a[1] ?? '';
      appendfsync = f[1] ?? '';
    } catch (err) {
      if (opts.assumeDurable) {
        warn(`CONFIG GET refused by Redis (${(err as Error).message}); trusting redis.assumeDurable that it fsyncs every write`);
        continue;
      }
      throw new RelayError('store_not_durable', `cannot check Redis persistence (CONFIG GET refused: ${(err as Error).message}); set redis.assumeDurable if the service fsyncs every write`);
    }
    if (appendonly !== 'yes') throw new RelayError('store_not_durable', `Redis runs appendonly ${appendonly}: the store needs appendonly yes (and appendfsync always)`);
    if (appendfsync !== 'always') throw new RelayError('store_not_durable', `Redis runs appendfsync ${appendfsync}: the store needs appendfsync always, or a post could be acknowledged and lost`);
  }
}
