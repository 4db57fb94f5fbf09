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
import { readFileSync } from 'node:fs';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { RelayConfig } from '../../config/schema.js';
import { RelayError } from '../../errors.js';
import { ACK_LUA, ADJUST_LUA, CLAIM_LUA, EXPIRE_LUA, LIST_LUA, PUT_LUA, PUT_ONE_LUA, REINDEX_LUA, RELEASE_LUA, RESERVE_LUA } from './redis-scripts.js';

export type RedisStoreOptions = RelayConfig['redis'];

/** The client, Redis or Cluster; the store only uses what both offer. */
export type RedisClient = Redis | Cluster;

const SCRIPTS = {
  xrPut: { lua: PUT_LUA, numberOfKeys: 3 },
  xrPutOne: { lua: PUT_ONE_LUA, numberOfKeys: 5 },
  xrList: { lua: LIST_LUA, numberOfKeys: 2, readOnly: true },
  xrAck: { lua: ACK_LUA, numberOfKeys: 3 },
  xrAckOne: { lua: ACK_LUA, numberOfKeys: 4 },
  xrExpire: { lua: EXPIRE_LUA, numberOfKeys: 3 },
  xrExpireOne: { lua: EXPIRE_LUA, numberOfKeys: 4 },
  xrReserve: { lua: RESERVE_LUA, numberOfKeys: 1 },
  xrAdjust: { lua: ADJUST_LUA, numberOfKeys: 1 },
  xrClaim: { lua: CLAIM_LUA, numberOfKeys: 1 },
  xrRelease: { lua: RELEASE_LUA, numberOfKeys: 1 },
  xrReindex: { lua: REINDEX_LUA, numberOfKeys: 1 },
} as const;

const OPEN_TIMEOUT_MS = 10_000;

/** Extra client settings for connections other than the store's (the mailbox bus). */
export interface RedisClientExtras {
  /** Cluster: SSUBSCRIBE goes to the node owning the channel's slot (sharded pub/sub, Redis 7). */
  shardedSubscribers?: boolean;
  /** Connect at once and keep reconnecting in the background (the bus), instead of on connect(). */
  eager?: boolean;
  /**
   * Hold commands sent while (re)connecting for up to this many ms instead of failing them at once
   * (the bus's publisher: a hint sent just as Redis comes back waits for its connection). 0: fail fast.
   */
  queueMs?: number;
}

/** Builds an ioredis client (single or Cluster) from the `redis` config; not yet connected unless `eager`. */
export function createRedisClient(opts: RedisStoreOptions, extras: RedisClientExtras = {}): RedisClient {
  const url = new URL(opts.url);
  const tls = opts.tls || url.protocol === 'rediss:';
  const lazyConnect = extras.eager !== true;
  const queueMs = extras.queueMs ?? 0;
  const node: RedisOptions = {
    username: opts.username || (url.username ? decodeURIComponent(url.username) : undefined),
    password: opts.password || (url.password ? decodeURIComponent(url.password) : undefined),
    ...(tls ? { tls: { servername: url.hostname, ...(opts.tlsCaFile ? { ca: readFileSync(opts.tlsCaFile) } : {}) } } : {}),
    // Fail fast: a post the store cannot write now is answered 503 store_unavailable and retried
    // by its sender, rather than queued in memory while Redis is away.
    enableOfflineQueue: queueMs > 0,
    maxRetriesPerRequest: queueMs > 0 ? 1 : 0,
    commandTimeout: queueMs > 0 ? queueMs : 10_000,
    connectTimeout: 5_000,
    lazyConnect,
    retryStrategy: (times: number) => Math.min(50 * times, 1000),
  };
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || 6379);
  let client: RedisClient;
  if (opts.cluster) {
    client = new Cluster([{ host, port }], {
      redisOptions: node,
      lazyConnect,
      enableOfflineQueue: queueMs > 0,
      slotsRefreshTimeout: 5_000,
      clusterRetryStrategy: (times: number) => Math.min(100 * times, 2000),
      shardedSubscribers: extras.shardedSubscribers === true,
    });
  } else {
    const db = Number(url.pathname.slice(1) || 0);
    client = new Redis({ host, port, db, ...node });
  }
  // ioredis emits 'error' on every failed reconnect; callers report failures per operation.
  client.on('error', () => {});
  return client;
}

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
