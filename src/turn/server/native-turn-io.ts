/**
 * The native TURN I/O (turn-io.ts): the addon's thread owns the UDP listener and UDP clients'
 * relay sockets (native-turn.ts, startNativeUdpPath) and forwards their traffic without entering
 * JS; TCP/TLS clients' relay sockets stay dgram sockets (DgramRelays).
 */
import { AllocationState, type Allocation } from '../core/allocation.js';
import type { ClientRef, TurnStats } from '../core/types.js';
import type { RelayBinding } from './core-options.js';
import { mergeNativeStats, nativeTurnIo, startNativeUdpPath, type NativeTurnAddon, type NativeUdpPath } from './native-turn.js';
import type { RelaySockets } from './relay-sockets.js';
import { DgramRelays, SOCKET_BUFFER_BYTES, type TurnHostIo, type TurnIoLinks } from './turn-io.js';

/** `alloc.relay` of an allocation whose relay socket the native thread owns. */
const NATIVE_RELAY = Symbol('native-relay');

export class NativeTurnIo implements TurnHostIo {
  readonly kind = 'native';
  private readonly relays: DgramRelays;
  private path: NativeUdpPath | undefined;
  /** Sends from the JS thread through the native sockets that failed at once. */
  private failed = 0;

  constructor(
    private readonly links: TurnIoLinks,
    sockets: RelaySockets,
    private readonly addon: NativeTurnAddon,
    private readonly binding: RelayBinding,
    private readonly tidPrefix: Uint8Array,
  ) {
    this.relays = new DgramRelays(links, sockets);
  }

  listen(host: string, port: number): Promise<number> {
    this.path = startNativeUdpPath(this.addon, host, port, this.binding, this.tidPrefix, SOCKET_BUFFER_BYTES, this.links.fromClient);
    return Promise.resolve(this.path.port);
  }

  sendToClient(client: ClientRef, data: Buffer): void {
    if (this.links.closed) return;
    try {
      if (client.transport !== 'udp') this.links.sendToStream(client, data);
      else if (!this.path!.sendToClient(client.ip, client.port, data)) this.failed++;
    } catch {
      this.failed++;
    }
  }

  sendToPeer(alloc: Allocation, ip: string, port: number, data: Buffer): void {
    if (alloc.relay !== NATIVE_RELAY) return this.relays.sendToPeer(alloc, ip, port, data);
    if (!this.path!.sendToPeer(alloc, ip, port, data)) this.failed++;
  }

  openRelay(alloc: Allocation, evenPort: boolean): void {
    if (alloc.client.transport !== 'udp') return this.relays.openRelay(alloc, evenPort);
    const path = this.path!;
    const { links } = this;
    const relayPort = path.openRelay(alloc, evenPort);
    // Answer after this request's handling, as with an asynchronous bind.
    queueMicrotask(() => {
      if (relayPort === undefined || links.closed) {
        if (relayPort !== undefined) path.closeRelay(alloc);
        links.core.relayFailed(alloc);
        return;
      }
      alloc.relay = NATIVE_RELAY;
      links.core.relayOpened(alloc, relayPort, links.now());
      if (alloc.state === AllocationState.closed) path.closeRelay(alloc);
    });
  }

  closeRelay(alloc: Allocation): void {
    if (alloc.relay !== NATIVE_RELAY) return this.relays.closeRelay(alloc);
    alloc.relay = undefined;
    this.path?.closeRelay(alloc);
  }

  forwardingChanged(alloc: Allocation): void {
    if (alloc.relay === NATIVE_RELAY) this.path?.sync(alloc);
  }

  onAllocation: TurnHostIo['onAllocation'] = (event, alloc, reason) => this.links.onAllocation(event, alloc, reason);

  sendErrors(): number {
    const thread = this.path === undefined ? 0 : nativeTurnIo(this.path.stats()).sendErrors;
    return this.failed + this.relays.sendErrors + thread;
  }

  stats(core: TurnStats): TurnStats {
    return this.path === undefined ? core : mergeNativeStats(core, this.path.stats());
  }

  async close(): Promise<void> {
    this.path?.close();
    await this.relays.closeAll();
  }
}
