/**
 * The one way relay code builds an ioredis client (single instance or Cluster) from the `redis`
 * config section, shared by the envelope store and bus (src/envelope/store, src/envelope/push) and the
 * media plane's room registry (src/media/store): TLS, AUTH, fail-fast settings and reconnect policy
 * are decided once. Why ioredis over node-redis: src/envelope/store/redis-connect.ts.
 */
import { readFileSync } from 'node:fs';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { RelayConfig } from '../config/schema.js';

export type RedisStoreOptions = RelayConfig['redis'];

/** The client, Redis or Cluster; the store only uses what both offer. */
export type RedisClient = Redis | Cluster;

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

