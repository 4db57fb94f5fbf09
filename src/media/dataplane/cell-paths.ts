/**
 * Where each session's cells go (TypeScript data plane): its latest UDP address, or an external
 * sink (the WebSocket fallback) kept in the shared ExternalSinks table (external-sinks.ts, which
 * the native data plane uses too), indexed by the core's session table index. A path changes only
 * when the core has accepted a cell (authenticated and fresh) from somewhere new: that is address
 * roaming (NAT rebinding, Wi-Fi to mobile, UDP to WS). Nothing is ever sent to an address that has
 * not proven the session's key. A session has at most one path: a UDP address or a sink.
 * Roams are counted here for moves to, from or within UDP, and by ExternalSinks between two sinks;
 * the native plane splits them the same way (its core counts UDP, ExternalSinks the rest).
 */
import type { Socket } from 'node:dgram';
import type { ExternalSink } from './data-plane.js';
import { ExternalSinks } from './external-sinks.js';

export interface PathCounters {
  roams: number;
  wsBackpressureDrops: number;
  unroutable: number;
}

export class CellPaths {
  /** 1 where the session's path is a UDP address (addrs/ports hold it). */
  private onUdp = new Uint8Array(64);
  private readonly addrs: string[] = [];
  private readonly ports: number[] = [];
  private readonly sinks = new ExternalSinks();
  private udpRoams = 0;

  constructor(private readonly udp: Socket) {}

  /** Sessions whose cells moved to a new address or transport. */
  get roams(): number {
    return this.udpRoams + this.sinks.roams;
  }

  /** Cells due for a session with no path. */
  get unroutable(): number {
    return this.sinks.unroutable;
  }

  private grow(index: number): void {
    if (index < this.onUdp.length) return;
    const u = new Uint8Array(Math.max(index + 1, this.onUdp.length * 2));
    u.set(this.onUdp);
    this.onUdp = u;
  }

  /** A cell from `address:port` was accepted for session `index`; true when that is a new path. */
  fromUdp(index: number, address: string, port: number): boolean {
    this.grow(index);
    if (this.isUdpPath(index, address, port)) return false;
    if (this.onUdp[index] === 1 || this.sinks.sinkOf(index) !== undefined) this.udpRoams++;
    this.onUdp[index] = 1;
    this.addrs[index] = address;
    this.ports[index] = port;
    this.sinks.forget(index);
    return true;
  }

  /** A cell from external path `sink` was accepted for session `index`; true when that is a new path. */
  fromSink(index: number, sink: ExternalSink): boolean {
    this.grow(index);
    if (this.onUdp[index] === 1) {
      this.udpRoams++; // UDP -> external; the sink table saw no sink for this session
      this.onUdp[index] = 0;
    }
    return this.sinks.use(index, sink);
  }

  /** True when session `index`'s proven path is this UDP address (the flood guard's fast yes). */
  isUdpPath(index: number, address: string, port: number): boolean {
    return this.onUdp[index] === 1 && this.ports[index] === port && this.addrs[index] === address;
  }

  /** True when session `index`'s proven path is this external sink. */
  isSinkPath(index: number, sink: ExternalSink): boolean {
    return this.sinks.sinkOf(index) === sink;
  }

  send(index: number, cell: Buffer): void {
    if (this.onUdp[index] === 1) this.udp.send(cell, this.ports[index]!, this.addrs[index]!);
    else this.sinks.send(index, cell);
  }

  /** The session at `index` ended (or the index is being reused): forget its path. */
  forget(index: number): void {
    if (index < this.onUdp.length) this.onUdp[index] = 0;
    this.sinks.forget(index);
  }

  /** An external path closed: sessions using it have no path until their next accepted cell. */
  forgetSink(sink: ExternalSink): void {
    this.sinks.forgetSink(sink);
  }
}
