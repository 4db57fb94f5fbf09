/** The TypeScript TURN I/O (turn-io.ts): node:dgram for the UDP listener and every relay socket. */
import type { Allocation } from '../core/allocation.js';
import type { ClientRef, TurnStats } from '../core/types.js';
import type { RelaySockets } from './relay-sockets.js';
import { DgramRelays, SOCKET_BUFFER_BYTES, type TurnHostIo, type TurnIoLinks } from './turn-io.js';
import { bindUdp, closeUdp, createUdpSocket, growBuffers } from './udp-socket.js';

export class DgramTurnIo implements TurnHostIo {
  readonly kind = 'typescript';
  private readonly relays: DgramRelays;
  private readonly udp;

  constructor(
    private readonly links: TurnIoLinks,
    sockets: RelaySockets,
    family: 4 | 6,
    private readonly warn: (err: NodeJS.ErrnoException) => void,
  ) {
    this.relays = new DgramRelays(links, sockets);
    this.udp = createUdpSocket(family);
  }

  async listen(host: string, port: number): Promise<number> {
    this.udp.on('message', (msg, rinfo) => this.links.fromClient(rinfo.address, rinfo.port, msg));
    this.udp.on('error', this.warn);
    const bound = await bindUdp(this.udp, port, host);
    growBuffers(this.udp, SOCKET_BUFFER_BYTES);
    return bound;
  }

  sendToClient(client: ClientRef, data: Buffer): void {
    if (this.links.closed) return;
    // dgram throws synchronously on a closed socket or an invalid port; one bad send must not
    // escape into the receive loop, so it is caught and counted.
    try {
      if (client.transport === 'udp') this.udp.send(data, client.port, client.ip, this.relays.countSendError);
      else this.links.sendToStream(client, data);
    } catch {
      this.relays.sendErrors++;
    }
  }

  sendToPeer(alloc: Allocation, ip: string, port: number, data: Buffer): void {
    this.relays.sendToPeer(alloc, ip, port, data);
  }

  openRelay(alloc: Allocation, evenPort: boolean): void {
    this.relays.openRelay(alloc, evenPort);
  }

  closeRelay(alloc: Allocation): void {
    this.relays.closeRelay(alloc);
  }

  forwardingChanged(): void {
    // The core forwards every packet itself: nothing to push.
  }

  onAllocation: TurnHostIo['onAllocation'] = (event, alloc, reason) => this.links.onAllocation(event, alloc, reason);

  sendErrors(): number {
    return this.relays.sendErrors;
  }

  stats(core: TurnStats): TurnStats {
    return core;
  }

  async close(): Promise<void> {
    await Promise.all([closeUdp(this.udp), this.relays.closeAll()]);
  }
}
