/**
 * `xrelay reconcile-usage`: recounts the Redis store's store-wide usage counter (`{global}:u`, what
 * `envelope.storeMaxBytes` is checked against) from every mailbox's own counters. On a Redis Cluster
 * a node that dies between reserving a post's bytes and writing it, or a write whose outcome is
 * unknown, leaves the global counter high by that post (README "Redis store"); this puts it back.
 * Exact when no post is in flight: run it in a quiet moment (a post racing it is off by that post
 * until the next run). The LMDB store needs no such command: its counters move in the same
 * transaction as the data and are rebuilt by a scan after an unclean stop.
 */
import { ConfigError } from '../config/config-error.js';
import type { RelayConfig } from '../config/schema.js';
import { RedisEnvelopeStore } from '../envelope/store/redis-store.js';

export async function runReconcileUsage(config: RelayConfig, out: (line: string) => void, warn: (msg: string) => void): Promise<number> {
  if (config.store !== 'redis') throw new ConfigError('store', 'reconcile-usage recounts the Redis store\'s counters: give --store redis and --redis-url (the LMDB store keeps exact counters by itself)');
  const store = await RedisEnvelopeStore.open(config.redis, config.envelope, { warn });
  try {
    const before = store.stats();
    const after = await store.reconcileUsage();
    out(JSON.stringify({ before, after }));
    return 0;
  } finally {
    await store.close();
  }
}
