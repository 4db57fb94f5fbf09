/**
 * The TURN plane: binds the UDP (and TCP) listener on `host:turn.port`, owns the relay sockets and
 * drives the sans-IO `TurnCore` with the wall clock. The only module here that touches sockets.
 *
 * Data path (turn.dataPlane, XRELAY_NATIVE): `native` hands the UDP listener and UDP clients' relay
 * sockets to the addon's thread (native-turn.ts), which forwards relay traffic itself and passes
 * everything else up to the core; `typescript` uses node:dgram throughout. TCP/TLS clients' relay
 * sockets are dgram sockets either way.
 */
import type { Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Plane, PlaneContext } from '../../host/plane.js';
import { AllocationState, type Allocation } from '../core/allocation.js';
import { TurnCore } from '../core/turn-core.js';
import type { AllocationEvent, ClientRef, CloseReason, TurnIo } from '../core/types.js';
import { coreOptions, relayBinding } from './core-options.js';
import { RelaySockets } from './relay-sockets.js';
import { TCP_CLOSE_REASONS, TcpClients, type TcpCloseReason } from './tcp-clients.js';
import { registerTurnMetrics } from './turn-metrics.js';
import { bindUdp, closeUdp, createUdpSocket, growBuffers } from './udp-socket.js';
import { mergeNativeStats, NATIVE_TURN_SEND_ERRORS, selectTurnDataPath, startNativeUdpPath, type NativeUdpPath } from './native-turn.js';
import type { TurnStats } from '../core/types.js';

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
/** `alloc.relay` of an allocation whose relay socket the native data path owns. */
const NATIVE_RELAY = Symbol('native-relay');
const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

export async function startTurnPlane(ctx: PlaneContext): Promise<TurnPlane> {
  const { config, logger, redactor } = ctx;
  const t = config.turn;
  const binding = relayBinding(config);
  const relays = new RelaySockets(binding);
  const log = logger.child({ plane: 'turn' });
  const now = Date.now;
  const hostFamily = isIP(config.host) === 6 ? 6 : 4;
  const native = selectTurnDataPath(t.dataPlane);
  let nat: NativeUdpPath | undefined;
  const udp = native.addon === undefined ? createUdpSocket(hostFamily) : undefined;
  /** The TCP and TLS listeners' host (one, so its caps count both); undefined when both are off. */
  let streams: TcpClients | undefined;
  let closed = false;
  let sendErrors = 0;

  // With a callback, dgram reports a failed send (EMSGSIZE, ENOBUFS...) there, not as a socket
  // 'error' event: counted per packet, never logged per packet.
  const countSendError = (err: Error | null): void => {
    if (err) sendErrors++;
  };
  const io: TurnIo = {
    // dgram throws synchronously on a closed socket or an invalid port; one bad send must not
    // escape into the receive loop, so it is caught and counted.
    sendToClient(client: ClientRef, data: Buffer): void {
      if (closed) return;
      try {
        if (client.transport === 'udp') {
          if (nat) {
            if (!nat.sendToClient(client.ip, client.port, data)) sendErrors++;
          } else udp!.send(data, client.port, client.ip, countSendError);
        }
        else streams?.send(client, data);
      } catch {
        sendErrors++;
      }
    },
    sendToPeer(alloc: Allocation, ip: string, port: number, data: Buffer): void {
      if (nat && alloc.relay === NATIVE_RELAY) {
        if (!nat.sendToPeer(alloc, ip, port, data)) sendErrors++;
        return;
      }
      try {
        (alloc.relay as Socket | undefined)?.send(data, port, ip, countSendError);
      } catch {
        sendErrors++;
      }
    },
    openRelay(alloc: Allocation, evenPort: boolean): void {
      if (nat && alloc.client.transport === 'udp') {
        const relayPort = nat.openRelay(alloc, evenPort);
        // Answer after this request's handling, as with an asynchronous bind.
        queueMicrotask(() => {
          if (relayPort === undefined || closed) {
            if (relayPort !== undefined) nat?.closeRelay(alloc);
            core.relayFailed(alloc);
            return;
          }
          alloc.relay = NATIVE_RELAY;
          core.relayOpened(alloc, relayPort, now());
          if (alloc.state === AllocationState.closed) nat?.closeRelay(alloc);
        });
        return;
      }
      relays.bind(evenPort).then(
        (socket) => {
          if (socket === undefined || closed) {
            if (socket) void relays.release(socket);
            core.relayFailed(alloc);
            return;
          }
          alloc.relay = socket;
          socket.on('message', (msg, rinfo) => {
            try {
              core.handlePeer(alloc, rinfo.address, rinfo.port, msg, now());
            } catch (err) {
              contained(err);
            }
          });
          socket.on('error', () => {});
          growBuffers(socket, SOCKET_BUFFER_BYTES);
          core.relayOpened(alloc, socket.address().port, now());
          if (alloc.state === AllocationState.closed) void relays.release(socket); // freed while binding
        },
        () => core.relayFailed(alloc),
      );
    },
    closeRelay(alloc: Allocation): void {
      if (alloc.relay === NATIVE_RELAY) {
        alloc.relay = undefined;
        nat?.closeRelay(alloc);
        return;
      }
      const socket = alloc.relay as Socket | undefined;
      alloc.relay = undefined;
      if (socket) void relays.release(socket);
    },
    forwardingChanged(alloc: Allocation): void {
      if (alloc.relay === NATIVE_RELAY) nat?.sync(alloc);
    },
    onAllocation(event: AllocationEvent, alloc: Allocation, reason?: CloseReason): void {
      if (alloc.client.transport === 'tcp') {
        if (event === 'open') streams?.allocationOpened(alloc.client.key);
        else streams?.allocationClosed(alloc.client.key);
      }
      log.debug({ event: `allocation_${event}`, reason, user: redactor.id(alloc.username), client: redactor.address(alloc.client.ip), transport: alloc.client.transport }, 'turn allocation');
    },
  };
  const opts = coreOptions(config, binding);
  const core = new TurnCore(opts, io);
  let lastWarn = -Infinity;
  let lastBug = -Infinity;
  /**
   * The core threw on network input: a bug, but one client's packet must not take the process and
   * every other client down. Counted (xrelay_turn_dropped_total{reason="internal_error"}) and logged at
   * most once a minute, with the error's name and code frames only (a message may quote input).
   */
  const contained = (err: unknown): void => {
    core.stats.dropped.internal_error++;
    if (now() - lastBug < 60_000) return;
    lastBug = now();
    log.error({ err: err instanceof Error ? err.name : typeof err, at: err instanceof Error ? err.stack?.split('\n').slice(1, 4).join(' | ') : undefined }, 'turn core threw on input; dropped');
  };
  if (t.tcp || t.tls) {
    const limits = { maxConnections: t.maxTcpConnections, maxPerAddress: t.maxTcpConnectionsPerAddress, idleTimeoutMs: t.tcpIdleTimeoutSec * 1000 };
    streams = new TcpClients(core, limits, now, {
      warn(what, code) {
        if (now() - lastWarn < 60_000) return; // at most one a minute; every failure is counted
        lastWarn = now();
        log.warn({ err: code }, what);
      },
      bug: contained,
    });
  }

  let udpPort: number;
  if (udp) {
    udp.on('message', (msg, rinfo) => {
      try {
        core.handleUdp(rinfo.address, rinfo.port, msg, now());
      } catch (err) {
        contained(err);
      }
    });
    udp.on('error', (err) => log.warn({ err: (err as NodeJS.ErrnoException).code }, 'turn udp socket error'));
    udpPort = await bindUdp(udp, t.port, config.host);
    growBuffers(udp, SOCKET_BUFFER_BYTES);
  } else {
    nat = startNativeUdpPath(native.addon!, config.host, t.port, binding, opts.tidPrefix, SOCKET_BUFFER_BYTES, (ip, port, buf) => {
      try {
        core.handleUdp(ip, port, buf, now());
      } catch (err) {
        contained(err); // thrown into the addon's callback it would be an uncaught exception
      }
    });
    udpPort = nat.port;
  }
  const closeListener = (): Promise<void> => {
    nat?.close();
    return udp ? closeUdp(udp) : Promise.resolve();
  };
  let tcpPort = 0;
  if (t.tcp) {
    try {
      // With port 0, TCP tries the UDP port first so both share a number, as clients expect.
      tcpPort = await streams!.listen(t.port === 0 ? udpPort : t.port, config.host).catch((err: unknown) => {
        if (t.port === 0) return streams!.listen(0, config.host);
        throw err;
      });
    } catch (err) {
      await Promise.all([closeListener(), streams?.close()]);
      throw err;
    }
  }
  let tlsPort = 0;
  if (t.tls) {
    const certFile = t.tlsCert !== '' ? t.tlsCert : config.tlsCert;
    const keyFile = t.tlsKey !== '' ? t.tlsKey : config.tlsKey;
    try {
      if (certFile === '' || keyFile === '') throw new TypeError('turn.tls needs turn.tlsCert and turn.tlsKey (or tlsCert and tlsKey)');
      tlsPort = await streams!.listen(t.tlsPort, config.host, { cert: readFileSync(certFile), key: readFileSync(keyFile) });
    } catch (err) {
      await Promise.all([closeListener(), streams?.close()]);
      throw err;
    }
  }
  const sweep = setInterval(() => {
    try {
      core.tick(now());
    } catch (err) {
      contained(err);
    }
  }, SWEEP_MS);
  sweep.unref();
  const stats = (): TurnStats => (nat ? mergeNativeStats(core.stats, nat.stats()) : core.stats);
  const nativeSendErrors = (): number => (nat ? nat.stats()[NATIVE_TURN_SEND_ERRORS]! : 0);
  registerTurnMetrics(ctx.metrics, stats, () => ({
    allocations: core.allocationCount(),
    tcp: streams?.count ?? 0,
    sendErrors: sendErrors + nativeSendErrors() + (streams?.dropped ?? 0),
    tcpClosed: streams?.closed,
    tcpAcceptErrors: streams?.acceptErrors ?? 0,
  }));
  const dataPlane = nat ? 'native' : 'typescript';
  log.info({ udpPort, tcpPort, tlsPort, relayPorts: `${binding.portMin}-${binding.portMax}`, realm: t.realm, dataPlane, why: native.why }, `turn plane listening; ${dataPlane} data path (${native.why})`);

  let closing: Promise<void> | undefined;
  return {
    name: 'turn',
    udpPort,
    tcpPort,
    tlsPort,
    core,
    dataPlane,
    stats,
    tcpStats: () => ({
      open: streams?.count ?? 0,
      closed: { ...(streams?.closed ?? Object.fromEntries(TCP_CLOSE_REASONS.map((r) => [r, 0])) as Record<TcpCloseReason, number>) },
      acceptErrors: streams?.acceptErrors ?? 0,
    }),
    ready: () => !closed,
    setTlsContext: (pair) => streams?.setTlsContext(pair) ?? false,
    close(): Promise<void> {
      closing ??= (async () => {
        closed = true;
        clearInterval(sweep);
        core.closeAll();
        await Promise.all([closeListener(), streams?.close(), relays.closeAll()]);
        log.info('turn plane closed');
      })();
      return closing;
    },
  };
}
