/**
 * What SIGHUP changes in a running relay: the TLS certificates (the HTTPS/WSS server's and TURN over
 * TLS's) and the log level, as coturn and nginx operators expect. A certificate swap reaches new
 * handshakes only; live connections (a mailbox reader, a call) keep theirs and are never dropped.
 * A pair that cannot be read or does not match keeps the old one in service and is logged as an
 * error. Every other changed field is named (not its value) as needing a restart.
 */
import { readFileSync } from 'node:fs';
import type { Server as HttpsServer } from 'node:https';
import { createSecureContext } from 'node:tls';
import { listFields } from './config/load.js';
import type { RelayConfig } from './config/schema.js';
import { setLogLevel, type Logger } from './observability/log.js';
import type { TurnPlane } from './turn/server/turn-plane.js';
import { errorSummary } from './observability/error-summary.js';

export type TlsReload = 'reloaded' | 'failed' | 'off';

export interface ReloadReport {
  logLevel: string;
  tls: TlsReload;
  turnTls: TlsReload;
  /** Fields whose new value is not applied until a restart (names only). */
  restartNeeded: string[];
}

export interface ReloadTargets {
  /** The config the relay started with. */
  readonly running: RelayConfig;
  readonly logger: Logger;
  /** The HTTPS server; undefined when serving plain HTTP. */
  readonly https: HttpsServer | undefined;
  readonly turn: TurnPlane | undefined;
}

const RELOADABLE = new Set(['logLevel', 'tlsCert', 'tlsKey', 'turn.tlsCert', 'turn.tlsKey']);

export function reloadRelay(t: ReloadTargets, next: RelayConfig): ReloadReport {
  const log = t.logger;
  const swap = (what: string, certFile: string, keyFile: string, apply: (pair: { cert: Buffer; key: Buffer }) => boolean): TlsReload => {
    try {
      const pair = { cert: readFileSync(certFile), key: readFileSync(keyFile) };
      createSecureContext(pair); // throws on a malformed or mismatched pair, before anything changes
      return apply(pair) ? 'reloaded' : 'off';
    } catch (err) {
      log.error({ err: errorSummary(err), what }, `cannot reload the ${what} certificate; the old one stays in service`);
      return 'failed';
    }
  };
  const https = t.https;
  const tls: TlsReload = https === undefined || next.tlsCert === '' ? 'off' : swap('HTTPS', next.tlsCert, next.tlsKey, (pair) => (https.setSecureContext(pair), true));
  const turn = t.turn;
  const turnCert = next.turn.tlsCert !== '' ? next.turn.tlsCert : next.tlsCert;
  const turnKey = next.turn.tlsKey !== '' ? next.turn.tlsKey : next.tlsKey;
  const turnTls: TlsReload = turn === undefined || !t.running.turn.tls || turnCert === '' ? 'off' : swap('TURN TLS', turnCert, turnKey, (pair) => turn.setTlsContext(pair));

  const restartNeeded = listFields()
    .map(({ path }) => path.join('.'))
    .filter((name) => !RELOADABLE.has(name) && JSON.stringify(valueAt(t.running, name)) !== JSON.stringify(valueAt(next, name)));
  // Switching TLS on or off changes the listener itself.
  if ((https === undefined) !== (next.tlsCert === '')) restartNeeded.push('tlsCert');

  // Reported under the old level, so the confirmation shows even when the new level hides info.
  log.info({ tls, turnTls, logLevel: next.logLevel }, 'config reloaded');
  if (restartNeeded.length > 0) log.warn({ fields: restartNeeded }, 'changed config fields need a restart to apply');
  setLogLevel(log, next.logLevel);
  return { logLevel: next.logLevel, tls, turnTls, restartNeeded };
}

function valueAt(config: RelayConfig, dotted: string): unknown {
  return dotted.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], config);
}
