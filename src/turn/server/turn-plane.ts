/**
 * The TURN plane: binds the UDP (and TCP) listener on `host:turn.port`, owns the relay sockets and
 * drives the sans-IO `TurnCore` with the wall clock. The only module here that touches sockets.
 */
import type { Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Plane, PlaneContext } from '../../server/plane.js';
import { AllocationState, type Allocation } from '../core/allocation.js';
import { TurnCore } from '../core/turn-core.js';
import type { AllocationEvent, ClientRef, CloseReason, TurnIo } from '../core/types.js';
import { coreOptions, relayBinding } from './core-options.js';
import { RelaySockets } from './relay-sockets.js';
import { TcpClients } from './tcp-clients.js';
import { registerTurnMetrics } from './turn-metrics.js';
import { bindUdp, closeUdp, createUdpSocket, growBuffers } from './udp-socket.js';

export interface TurnPlane extends Plane {
  readonly udpPort: number;
  /** 0 when TCP is disabled. */
  readonly tcpPort: number;
  /** 0 when TLS is disabled. */
  readonly tlsPort: number;
  /** The core, for tests and diagnostics. */
  readonly core: TurnCore;
}

const SWEEP_MS = 1000;
const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

export async function startTurnPlane(ctx: PlaneContext): Promise<TurnPlane> {
  const { config, logger, redactor } = ctx;
  const t = config.turn;
  const binding = relayBinding(config);
  const relays = new RelaySockets(binding);
  const log = logger.child({ plane: 'turn' });
  const now = Date.now;
  const hostFamily = isIP(config.host) === 6 ? 6 : 4;
  const udp = createUdpSocket(hostFamily);
  let tcp: TcpClients | undefined;
  let tls: TcpClients | undefined;
  let closed = false;
  let sendErrors = 0;

  const io: TurnIo = {
    // dgram throws synchronously on a closed socket or an invalid port; one bad send must not
    // escape into the receive loop, so it is caught and counted.
    sendToClient(client: ClientRef, data: Buffer): void {
      if (closed) return;
      try {
        if (client.transport === 'udp') udp.send(data, client.port, client.ip);
        else (client.key.startsWith('s') ? tls : tcp)?.send(client, data);
      } catch {
        sendErrors++;
      }
    },
    sendToPeer(alloc: Allocation, ip: string, port: number, data: Buffer): void {
      try {
        (alloc.relay as Socket | undefined)?.send(data, port, ip);
      } catch {
        sendErrors++;
      }
    },
    openRelay(alloc: Allocation, evenPort: boolean): void {
      relays.bind(evenPort).then(
        (socket) => {
          if (socket === undefined || closed) {
            if (socket) void relays.release(socket);
            core.relayFailed(alloc);
            return;
          }
          alloc.relay = socket;
          socket.on('message', (msg, rinfo) => core.handlePeer(alloc, rinfo.address, rinfo.port, msg, now()));
          socket.on('error', () => {});
          growBuffers(socket, SOCKET_BUFFER_BYTES);
          core.relayOpened(alloc, socket.address().port, now());
          if (alloc.state === AllocationState.closed) void relays.release(socket); // freed while binding
        },
        () => core.relayFailed(alloc),
      );
    },
    closeRelay(alloc: Allocation): void {
      const socket = alloc.relay as Socket | undefined;
      alloc.relay = undefined;
      if (socket) void relays.release(socket);
    },
    onAllocation(event: AllocationEvent, alloc: Allocation, reason?: CloseReason): void {
      log.debug({ event: `allocation_${event}`, reason, user: redactor.id(alloc.username), client: redactor.address(alloc.client.ip), transport: alloc.client.transport }, 'turn allocation');
    },
  };
  const core = new TurnCore(coreOptions(config, binding), io);

  udp.on('message', (msg, rinfo) => core.handleUdp(rinfo.address, rinfo.port, msg, now()));
  udp.on('error', (err) => log.warn({ err: (err as NodeJS.ErrnoException).code }, 'turn udp socket error'));
  const udpPort = await bindUdp(udp, t.port, config.host);
  growBuffers(udp, SOCKET_BUFFER_BYTES);
  let tcpPort = 0;
  if (t.tcp) {
    tcp = new TcpClients(core, t.maxTcpConnections, now);
    try {
      // With port 0, TCP tries the UDP port first so both share a number, as clients expect.
      tcpPort = await tcp.listen(t.port === 0 ? udpPort : t.port, config.host).catch((err: unknown) => {
        if (t.port === 0) return tcp!.listen(0, config.host);
        throw err;
      });
    } catch (err) {
      await closeUdp(udp);
      throw err;
    }
  }
  let tlsPort = 0;
  if (t.tls) {
    const certFile = t.tlsCert !== '' ? t.tlsCert : config.tlsCert;
    const keyFile = t.tlsKey !== '' ? t.tlsKey : config.tlsKey;
    try {
      if (certFile === '' || keyFile === '') throw new TypeError('turn.tls needs turn.tlsCert and turn.tlsKey (or tlsCert and tlsKey)');
      tls = new TcpClients(core, t.maxTcpConnections, now, 's', { cert: readFileSync(certFile), key: readFileSync(keyFile) });
      tlsPort = await tls.listen(t.tlsPort, config.host);
    } catch (err) {
      await Promise.all([closeUdp(udp), tcp?.close(), tls?.close()]);
      throw err;
    }
  }
  const sweep = setInterval(() => core.tick(now()), SWEEP_MS);
  sweep.unref();
  registerTurnMetrics(ctx.metrics, core.stats, () => ({ allocations: core.allocationCount(), tcp: (tcp?.count ?? 0) + (tls?.count ?? 0), sendErrors: sendErrors + (tcp?.dropped ?? 0) + (tls?.dropped ?? 0) }));
  log.info({ udpPort, tcpPort, tlsPort, relayPorts: `${binding.portMin}-${binding.portMax}`, realm: t.realm }, 'turn plane listening');

  let closing: Promise<void> | undefined;
  return {
    name: 'turn',
    udpPort,
    tcpPort,
    tlsPort,
    core,
    ready: () => !closed,
    close(): Promise<void> {
      closing ??= (async () => {
        closed = true;
        clearInterval(sweep);
        core.closeAll();
        await Promise.all([closeUdp(udp), tcp?.close(), tls?.close(), relays.closeAll()]);
        log.info('turn plane closed');
      })();
      return closing;
    },
  };
}
