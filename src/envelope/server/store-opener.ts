/**
 * Opens the envelope store for the plane: the data-dir lock, then the configured backend
 * (`openEnvelopeStore`), retried with backoff so the relay stays live and reports not-ready while
 * its volume is missing. The first attempt runs before the relay listens: a data dir another relay
 * holds fails the start (data_dir_locked), and so does a Redis without durable writes (store_not_durable).
 */
import type { RelayConfig } from '../../config/schema.js';
import { isRelayError } from '../../errors.js';
import { errorSummary } from '../../observability/error-summary.js';
import type { Logger } from '../../observability/log.js';
import type { MailboxService } from '../core/mailbox-service.js';
import { lockDataDir, type DataDirLock } from '../store/data-dir-lock.js';
import type { EnvelopeStore } from '../store/envelope-store.js';
import { openEnvelopeStore } from '../store/open-envelope-store.js';

const OPEN_RETRY_MAX_MS = 30_000;

export interface StoreOpener {
  /** No more attempts; an attempt in progress releases what it took. */
  stop(): void;
  /** Closes the store (if open) and releases the data-dir lock. */
  close(): Promise<void>;
}

export async function openStoreWithRetry(config: RelayConfig, service: MailboxService, logger: Logger): Promise<StoreOpener> {
  let store: EnvelopeStore | undefined;
  let lock: DataDirLock | undefined;
  let stopped = false;
  let retryTimer: NodeJS.Timeout | undefined;
  const tryOpen = async (delayMs: number, first: boolean): Promise<void> => {
    try {
      const startedAt = performance.now();
      lock ??= await lockDataDir(config.dataDir);
      if (stopped) return lock.release();
      const opened = await openEnvelopeStore(config, (msg) => logger.warn(msg));
      if (stopped) {
        await opened.store.close(); // the plane closed while a networked backend was connecting
        return lock.release();
      }
      store = opened.store;
      service.attachStore(store);
      logger.info({ envelopes: store.stats().envelopes, ...opened.details, lock: lock.name, openMs: Math.round(performance.now() - startedAt) }, 'envelope store open');
    } catch (err) {
      // Another relay on the data dir, or a Redis that would not keep a 202's promise: retrying
      // cannot fix either, so the start fails (exit 2) instead of serving not-ready forever.
      if (first && isRelayError(err) && (err.code === 'data_dir_locked' || err.code === 'store_not_durable')) throw err;
      logger.error({ err: errorSummary(err), retryInMs: delayMs }, 'cannot open the envelope store; relay not ready');
      retryTimer = setTimeout(() => !stopped && void tryOpen(Math.min(delayMs * 2, OPEN_RETRY_MAX_MS), false), delayMs);
      retryTimer.unref();
    }
  };
  await tryOpen(1000, true);
  return {
    stop() {
      stopped = true;
      clearTimeout(retryTimer);
    },
    async close() {
      await store?.close();
      lock?.release();
    },
  };
}
