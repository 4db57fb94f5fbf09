/**
 * `xrelay serve`: run the relay until a signal. SIGTERM/SIGINT drain and stop (a second one exits
 * at once); SIGHUP re-reads the config (file, environment, the same flags) and reloads what can
 * change while running (TLS certificates, log level: src/relay-reload.ts). A config that no longer
 * validates is logged and the running one kept.
 */
import { ConfigError } from '../config/load.js';
import type { RelayConfig } from '../config/schema.js';
import { errorSummary } from '../observability/error-summary.js';
import { startRelay } from '../relay.js';

export async function serve(config: RelayConfig, readConfig: () => RelayConfig): Promise<number> {
  // A SIGHUP while starting (default action: exit) is held and served once the relay runs.
  let heldHup = false;
  const holdHup = (): void => {
    heldHup = true;
  };
  process.on('SIGHUP', holdHup);
  const relay = await startRelay(config).finally(() => process.off('SIGHUP', holdHup));
  const log = relay.logger;
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) {
        log.warn({ signal }, 'second signal: exiting now');
        resolve(1);
        return;
      }
      stopping = true;
      log.info({ signal }, 'shutting down');
      relay.close().then(
        () => resolve(0),
        (err: unknown) => {
          log.error({ err: String(err) }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    const reload = (): void => {
      if (stopping) return;
      log.info({ signal: 'SIGHUP' }, 'reloading');
      let next: RelayConfig;
      try {
        next = readConfig();
      } catch (err) {
        // The field only: a message may quote a value, and values are not for logs.
        const field = err instanceof ConfigError ? err.field : undefined;
        log.error({ field, err: err instanceof ConfigError ? undefined : errorSummary(err) }, 'reload failed: the config does not validate (xrelay print-config shows why); the running config stays');
        return;
      }
      relay.reload(next);
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', reload);
    if (heldHup) reload();
  });
}
