/**
 * The one place that picks the envelope store backend from config: the embedded LMDB store (the
 * default, one machine) or Redis (`store: redis`, nodes of a cluster sharing mailboxes), both
 * implementing the `EnvelopeStore` port. The data-dir lock stays with the caller: it guards
 * `dataDir`, whatever the backend keeps there.
 */
import type { RelayConfig } from '../../config/schema.js';
import type { EnvelopeStore } from './envelope-store.js';
import { LmdbEnvelopeStore } from './lmdb-store.js';
import { RedisEnvelopeStore } from './redis-store.js';

export interface OpenedEnvelopeStore {
  readonly store: EnvelopeStore;
  /** Facts about the open worth one log line (no mailbox, no payload). */
  readonly details: Readonly<Record<string, string | number>>;
}

/**
 * Opens the configured envelope store; rejects with what the backend throws (the plane retries).
 * Async because a networked backend connects before it is usable.
 */
export async function openEnvelopeStore(
  config: Pick<RelayConfig, 'dataDir' | 'envelope' | 'store' | 'redis'>,
  warn: (msg: string) => void = () => undefined,
): Promise<OpenedEnvelopeStore> {
  if (config.store === 'redis') {
    const redis = await RedisEnvelopeStore.open(config.redis, config.envelope, { warn });
    return { store: redis, details: { backend: 'redis', cluster: String(config.redis.cluster), durability: config.redis.durability } };
  }
  const lmdb = LmdbEnvelopeStore.open(config.dataDir, config.envelope);
  return { store: lmdb, details: { backend: 'lmdb', usage: lmdb.usageSource } };
}
