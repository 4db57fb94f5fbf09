/**
 * The TURN host's I/O, one interface (`TurnHostIo`, the core's `TurnIo` plus the listener and its
 * counters) with two implementations chosen once at start (turn.dataPlane, XRELAY_NATIVE):
 *
 *  - `DgramTurnIo` (dgram-turn-io.ts): node:dgram for the UDP listener and every relay socket;
 *  - `NativeTurnIo` (native-turn-io.ts): the addon's thread owns the UDP listener and UDP clients'
 *    relay sockets and forwards their traffic itself.
 *
 * Both hand TCP/TLS clients' sends to the stream listeners and keep those clients' relay sockets as
 * dgram sockets (`DgramRelays` below).
 */
import type { Socket } from 'node:dgram';
import { AllocationState, type Allocation } from '../core/allocation.js';
import type { TurnCore } from '../core/turn-core.js';
import type { AllocationEvent, ClientRef, CloseReason, TurnIo, TurnStats } from '../core/types.js';
import type { RelaySockets } from './relay-sockets.js';
import type { TcpClients } from './tcp-clients.js';
import { growBuffers } from './udp-socket.js';

export const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

export interface TurnHostIo extends Required<TurnIo> {
  readonly kind: 'native' | 'typescript';
  /** Binds the UDP listener on `host:port` (0 picks one) and feeds its datagrams to the core: the bound port. */
  listen(host: string, port: number): Promise<number>;
  /** Sends that failed at once (refused by the socket layer), both paths' own. */
  sendErrors(): number;
  /** The core's counters, with the native path's added in (what /metrics exports). */
  stats(core: TurnStats): TurnStats;
  /** Closes the listener and every relay socket. */
  close(): Promise<void>;
}

/**
 * What the I/O needs from the plane, filled in as the plane builds (the core takes the I/O at
 * construction, the stream listeners take the core).
 */
export class TurnIoLinks {
  core!: TurnCore;
  streams: TcpClients | undefined;
  closed = false;
  constructor(
    readonly now: () => number,
    /** The core threw on input: counted and logged at most once a minute by the plane. */
    readonly contained: (err: unknown) => void,
    /** Lifecycle notice for logs. */
    readonly notice: (event: AllocationEvent, alloc: Allocation, reason?: CloseReason) => void,
  ) {}

  /** Feeds a listener datagram to the core; a throw must not escape into a socket or addon callback. */
  readonly fromClient = (ip: string, port: number, data: Buffer): void => {
    try {
      this.core.handleUdp(ip, port, data, this.now());
    } catch (err) {
      this.contained(err);
    }
  };

  /** TCP/TLS clients' sends go to their stream; the stream listeners count what they drop. */
  sendToStream(client: ClientRef, data: Buffer): void {
    this.streams?.send(client, data);
  }

  /** The stream listeners count allocations per connection (their idle and eviction rules need it). */
  onAllocation(event: AllocationEvent, alloc: Allocation, reason?: CloseReason): void {
    if (alloc.client.transport === 'tcp') {
      if (event === 'open') this.streams?.allocationOpened(alloc.client.key);
      else this.streams?.allocationClosed(alloc.client.key);
    }
    this.notice(event, alloc, reason);
  }
}

/** Relay sockets as node:dgram sockets: every relay on the TypeScript path, TCP/TLS clients' on the native one. */
export class DgramRelays {
  sendErrors = 0;
  // With a callback, dgram reports a failed send (EMSGSIZE, ENOBUFS...) there, not as a socket
  // 'error' event: counted per packet, never logged per packet.
  readonly countSendError = (err: Error | null): void => {
    if (err) this.sendErrors++;
  };

  constructor(
    private readonly links: TurnIoLinks,
    private readonly sockets: RelaySockets,
  ) {}

  sendToPeer(alloc: Allocation, ip: string, port: number, data: Buffer): void {
    // dgram throws synchronously on a closed socket or an invalid port: caught and counted.
    try {
      (alloc.relay as Socket | undefined)?.send(data, port, ip, this.countSendError);
    } catch {
      this.sendErrors++;
    }
  }

  openRelay(alloc: Allocation, evenPort: boolean): void {
    const { links } = this;
    this.sockets.bind(evenPort).then(
      (socket) => {
        if (socket === undefined || links.closed) {
          if (socket) void this.sockets.release(socket);
          links.core.relayFailed(alloc);
          return;
        }
        alloc.relay = socket;
        socket.on('message', (msg, rinfo) => {
          try {
            links.core.handlePeer(alloc, rinfo.address, rinfo.port, msg, links.now());
          } catch (err) {
            links.contained(err);
          }
        });
        socket.on('error', () => {});
        growBuffers(socket, SOCKET_BUFFER_BYTES);
        links.core.relayOpened(alloc, socket.address().port, links.now());
        if (alloc.state === AllocationState.closed) void this.sockets.release(socket); // freed while binding
      },
      () => links.core.relayFailed(alloc),
    );
  }

  closeRelay(alloc: Allocation): void {
    const socket = alloc.relay as Socket | undefined;
    alloc.relay = undefined;
    if (socket) void this.sockets.release(socket);
  }

  closeAll(): Promise<void> {
    return this.sockets.closeAll();
  }
}
