/**
 * The one place that picks the envelope store backend from config. Only LMDB today; a Redis store
 * (for a cluster) is added here as a second branch, beside `lmdb-store.ts`, implementing the same
 * `EnvelopeStore` port. The data-dir lock stays with the caller: it guards `dataDir`, whatever
 * the backend keeps there.
 */
import type { RelayConfig } from '../../config/schema.js';
import type { EnvelopeStore } from './envelope-store.js';
import { LmdbEnvelopeStore } from './lmdb-store.js';

export interface OpenedEnvelopeStore {
  readonly store: EnvelopeStore;
  /** Facts about the open worth one log line (no mailbox, no payload). */
  readonly details: Readonly<Record<string, string | number>>;
}

/**
 * Opens the configured envelope store; rejects with what the backend throws (the plane retries).
 * Async because a networked backend connects before it is usable.
 */
export async function openEnvelopeStore(config: Pick<RelayConfig, 'dataDir' | 'envelope'>): Promise<OpenedEnvelopeStore> {
  const lmdb = LmdbEnvelopeStore.open(config.dataDir, config.envelope);
  return { store: lmdb, details: { usage: lmdb.usageSource } };
}
