/**
 * Where each session's cells go (TypeScript data plane): its latest UDP address or an external
 * sink (the WebSocket fallback), indexed by the core's session table index. A path changes only
 * when the core has accepted a cell (authenticated and fresh) from somewhere new: that is address
 * roaming (NAT rebinding, Wi-Fi to mobile, UDP to WS). Nothing is ever sent to an address that has
 * not proven the session's key. The native data plane keeps the same table in its session struct.
 */
import type { Socket } from 'node:dgram';
import type { ExternalSink } from './data-plane.js';

const NONE = 0;
const UDP = 1;
const EXT = 2;

export interface PathCounters {
  roams: number;
  wsBackpressureDrops: number;
  unroutable: number;
}

export class CellPaths {
  private kinds = new Uint8Array(64);
  private readonly addrs: string[] = [];
  private readonly ports: number[] = [];
  private readonly sinks: Array<ExternalSink | undefined> = [];
  readonly counters = { roams: 0, unroutable: 0 };

  constructor(private readonly udp: Socket) {}

  private grow(index: number): void {
    if (index < this.kinds.length) return;
    const k = new Uint8Array(Math.max(index + 1, this.kinds.length * 2));
    k.set(this.kinds);
    this.kinds = k;
  }

  /** A cell from `address:port` was accepted for session `index`; true when that is a new path. */
  fromUdp(index: number, address: string, port: number): boolean {
    this.grow(index);
    const kind = this.kinds[index];
    if (kind === UDP && this.ports[index] === port && this.addrs[index] === address) return false;
    if (kind !== NONE) this.counters.roams++;
    this.kinds[index] = UDP;
    this.addrs[index] = address;
    this.ports[index] = port;
    this.sinks[index] = undefined;
    return true;
  }

  /** A cell from external path `sink` was accepted for session `index`; true when that is a new path. */
  fromSink(index: number, sink: ExternalSink): boolean {
    this.grow(index);
    if (this.kinds[index] === EXT && this.sinks[index] === sink) return false;
    if (this.kinds[index] !== NONE) this.counters.roams++;
    this.kinds[index] = EXT;
    this.sinks[index] = sink;
    return true;
  }

  /** True when session `index`'s proven path is this UDP address (the flood guard's fast yes). */
  isUdpPath(index: number, address: string, port: number): boolean {
    return this.kinds[index] === UDP && this.ports[index] === port && this.addrs[index] === address;
  }

  /** True when session `index`'s proven path is this external sink. */
  isSinkPath(index: number, sink: ExternalSink): boolean {
    return this.kinds[index] === EXT && this.sinks[index] === sink;
  }

  send(index: number, cell: Buffer): void {
    const kind = this.kinds[index];
    if (kind === UDP) this.udp.send(cell, this.ports[index]!, this.addrs[index]!);
    else if (kind === EXT) this.sinks[index]!.send(cell);
    else this.counters.unroutable++;
  }

  /** The session at `index` ended (or the index is being reused): forget its path. */
  forget(index: number): void {
    if (index >= this.kinds.length) return;
    this.kinds[index] = NONE;
    this.sinks[index] = undefined;
  }

  /** An external path closed: sessions using it have no path until their next accepted cell. */
  forgetSink(sink: ExternalSink): void {
    for (let i = 0; i < this.sinks.length; i++) {
      if (this.sinks[i] === sink) this.forget(i);
    }
  }
}
