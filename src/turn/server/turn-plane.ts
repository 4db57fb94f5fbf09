/**
 * The TURN plane: binds the UDP (and TCP) listener on `host:turn.port`, owns the relay sockets and
 * drives the sans-IO `TurnCore` with the wall clock. The only module here that touches sockets.
 *
 * Data path (turn.dataPlane, XRELAY_NATIVE): `native` hands the UDP listener and UDP clients' relay
 * sockets to the addon's thread (native-turn-io.ts), which forwards relay traffic itself and passes
 * everything else up to the core; `typescript` uses node:dgram throughout. TCP/TLS clients' relay
 * sockets are dgram sockets either way.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { RelayConfig } from '../../config/schema.js';
import type { Logger } from '../../observability/log.js';
import type { Plane, PlaneContext } from '../../host/plane.js';
import { TurnCore } from '../core/turn-core.js';
import type { TurnStats } from '../core/types.js';
import { coreOptions, relayBinding } from './core-options.js';
import { DgramTurnIo } from './dgram-turn-io.js';
import { NativeTurnIo } from './native-turn-io.js';
import { selectTurnDataPath } from './native-turn.js';
import { RelaySockets } from './relay-sockets.js';
import { TCP_CLOSE_REASONS, TcpClients, type TcpCloseReason } from './tcp-clients.js';
import { TurnIoLinks, type TurnHostIo } from './turn-io.js';
import { registerTurnMetrics } from './turn-metrics.js';

export interface TurnPlane extends Plane {
  readonly udpPort: number;
  /** 0 when TCP is disabled. */
  readonly tcpPort: number;
  /** 0 when TLS is disabled. */
  readonly tlsPort: number;
  /** The core, for tests and diagnostics. */
  readonly core: TurnCore;
  /** Which data path forwards UDP clients' relay traffic. */
  readonly dataPlane: 'native' | 'typescript';
  /**
   * Swap the TURN-over-TLS certificate (SIGHUP): new handshakes use it, live connections keep
   * theirs. False when TLS is off. Throws (keeping the old one) on an unusable pair.
   */
  setTlsContext(pair: { cert: Buffer; key: Buffer }): boolean;
  /** The core's counters plus the native data path's (what /metrics exports). */
  stats(): TurnStats;
  /** The TCP/TLS listeners: open connections, closes by reason, failed accepts (zeros when both are off). */
  tcpStats(): { open: number; closed: Readonly<Record<TcpCloseReason, number>>; acceptErrors: number };
}

const SWEEP_MS = 1000;
/** Lifecycle warnings and contained core bugs are logged at most once a minute each; all are counted. */
const LOG_EVERY_MS = 60_000;

export async function startTurnPlane(ctx: PlaneContext): Promise<TurnPlane> {
  const { config, redactor } = ctx;
  const t = config.turn;
  const log = ctx.logger.child({ plane: 'turn' });
  const now = Date.now;
  const binding = relayBinding(config);
  const opts = coreOptions(config, binding);
  const links = new TurnIoLinks(now, containment(log, now, () => core), (event, alloc, reason) =>
    log.debug({ event: `allocation_${event}`, reason, user: redactor.id(alloc.username), client: redactor.address(alloc.client.ip), transport: alloc.client.transport }, 'turn allocation'),
  );
  const native = selectTurnDataPath(t.dataPlane);
  const sockets = new RelaySockets(binding);
  const io: TurnHostIo = native.addon
    ? new NativeTurnIo(links, sockets, native.addon, binding, opts.tidPrefix)
    : new DgramTurnIo(links, sockets, isIP(config.host) === 6 ? 6 : 4, (err) => log.warn({ err: err.code }, 'turn udp socket error'));
  const core = new TurnCore(opts, io);
  links.core = core;
  links.streams = t.tcp || t.tls ? createStreams(config, core, log, now, links.contained) : undefined;
  const ports = await listen(config, io, links.streams);
  const sweep = setInterval(() => {
    try {
      core.tick(now());
    } catch (err) {
      links.contained(err);
    }
  }, SWEEP_MS);
  sweep.unref();
  const streams = links.streams;
  const stats = (): TurnStats => io.stats(core.stats);
  registerTurnMetrics(ctx.metrics, stats, () => ({
    allocations: core.allocationCount(),
    tcp: streams?.count ?? 0,
    sendErrors: io.sendErrors() + (streams?.dropped ?? 0),
    tcpClosed: streams?.closed,
    tcpAcceptErrors: streams?.acceptErrors ?? 0,
  }));
  log.info({ ...ports, relayPorts: `${binding.portMin}-${binding.portMax}`, realm: t.realm, dataPlane: io.kind, why: native.why }, `turn plane listening; ${io.kind} data path (${native.why})`);

  let closing: Promise<void> | undefined;
  return {
    name: 'turn',
    ...ports,
    core,
    dataPlane: io.kind,
    stats,
    tcpStats: () => ({
      open: streams?.count ?? 0,
      closed: { ...(streams?.closed ?? (Object.fromEntries(TCP_CLOSE_REASONS.map((r) => [r, 0])) as Record<TcpCloseReason, number>)) },
      acceptErrors: streams?.acceptErrors ?? 0,
    }),
    ready: () => !links.closed,
    setTlsContext: (pair) => streams?.setTlsContext(pair) ?? false,
    close(): Promise<void> {
      closing ??= (async () => {
        links.closed = true;
        clearInterval(sweep);
        core.closeAll();
        await Promise.all([io.close(), streams?.close()]);
        log.info('turn plane closed');
      })();
      return closing;
    },
  };
}

/**
 * The core threw on network input: a bug, but one client's packet must not take the process and
 * every other client down. Counted (xrelay_turn_dropped_total{reason="internal_error"}) and logged at
 * most once a minute, with the error's name and code frames only (a message may quote input).
 */
function containment(log: Logger, now: () => number, core: () => TurnCore): (err: unknown) => void {
  let last = -Infinity;
  return (err) => {
    core().stats.dropped.internal_error++;
    if (now() - last < LOG_EVERY_MS) return;
    last = now();
    log.error({ err: err instanceof Error ? err.name : typeof err, at: err instanceof Error ? err.stack?.split('\n').slice(1, 4).join(' | ') : undefined }, 'turn core threw on input; dropped');
  };
}

/** The TCP and TLS listeners' host (one, so its caps count both). */
function createStreams(config: RelayConfig, core: TurnCore, log: Logger, now: () => number, bug: (err: unknown) => void): TcpClients {
  const t = config.turn;
  const limits = { maxConnections: t.maxTcpConnections, maxPerAddress: t.maxTcpConnectionsPerAddress, idleTimeoutMs: t.tcpIdleTimeoutSec * 1000 };
  let lastWarn = -Infinity;
  return new TcpClients(core, limits, now, {
    warn(what, code) {
      if (now() - lastWarn < LOG_EVERY_MS) return; // every failure is counted
      lastWarn = now();
      log.warn({ err: code }, what);
    },
    bug,
  });
}

/** Binds UDP, then TCP and TLS when enabled; on a failure closes what was bound and rethrows. */
async function listen(config: RelayConfig, io: TurnHostIo, streams: TcpClients | undefined): Promise<{ udpPort: number; tcpPort: number; tlsPort: number }> {
  const t = config.turn;
  try {
    const udpPort = await io.listen(config.host, t.port);
    // With port 0, TCP tries the UDP port first so both share a number, as clients expect.
    const tcpPort = !t.tcp ? 0 : await streams!.listen(t.port === 0 ? udpPort : t.port, config.host).catch((err: unknown) => {
      if (t.port === 0) return streams!.listen(0, config.host);
      throw err;
    });
    const tlsPort = !t.tls ? 0 : await streams!.listen(t.tlsPort, config.host, turnTlsPair(config));
    return { udpPort, tcpPort, tlsPort };
  } catch (err) {
    await Promise.all([io.close(), streams?.close()]);
    throw err;
  }
}

/** TURN-over-TLS's certificate files: turn.tlsCert/tlsKey, or the HTTPS pair (checked by loadConfig). */
function turnTlsPair(config: RelayConfig): { cert: Buffer; key: Buffer } {
  const t = config.turn;
  const certFile = t.tlsCert !== '' ? t.tlsCert : config.tlsCert;
  const keyFile = t.tlsKey !== '' ? t.tlsKey : config.tlsKey;
  if (certFile === '' || keyFile === '') throw new TypeError('turn.tls needs turn.tlsCert and turn.tlsKey (or tlsCert and tlsKey)');
  return { cert: readFileSync(certFile), key: readFileSync(keyFile) };
}
