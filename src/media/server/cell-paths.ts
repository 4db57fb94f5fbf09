/**
 * Where each session's cells go: its latest UDP address or its WebSocket, indexed by the core's
 * session table index. A path changes only when the core has accepted a cell (authenticated and
 * fresh) from somewhere new: that is address roaming (NAT rebinding, Wi-Fi to mobile, UDP to WS).
 * Nothing is ever sent to an address that has not proven the session's key.
 */
import type { Socket } from 'node:dgram';
import type { WebSocket } from 'ws';

const NONE = 0;
const UDP = 1;
const WS = 2;

export interface PathCounters {
  roams: number;
  wsBackpressureDrops: number;
  unroutable: number;
}

export class CellPaths {
  private kinds = new Uint8Array(64);
  private readonly addrs: string[] = [];
  private readonly ports: number[] = [];
  private readonly sockets: Array<WebSocket | undefined> = [];
  readonly counters: PathCounters = { roams: 0, wsBackpressureDrops: 0, unroutable: 0 };

  constructor(
    private readonly udp: Socket,
    private readonly wsMaxBuffered: number,
  ) {}

  private grow(index: number): void {
    if (index < this.kinds.length) return;
    const k = new Uint8Array(Math.max(index + 1, this.kinds.length * 2));
    k.set(this.kinds);
    this.kinds = k;
  }

  /** A cell from `address:port` was accepted for session `index`. */
  fromUdp(index: number, address: string, port: number): void {
    this.grow(index);
    const kind = this.kinds[index];
    if (kind === UDP && this.ports[index] === port && this.addrs[index] === address) return;
    if (kind !== NONE) this.counters.roams++;
    this.kinds[index] = UDP;
    this.addrs[index] = address;
    this.ports[index] = port;
    this.sockets[index] = undefined;
  }

  /** A cell from WebSocket `ws` was accepted for session `index`. */
  fromWs(index: number, ws: WebSocket): void {
    this.grow(index);
    if (this.kinds[index] === WS && this.sockets[index] === ws) return;
    if (this.kinds[index] !== NONE) this.counters.roams++;
    this.kinds[index] = WS;
    this.sockets[index] = ws;
  }

  send(index: number, cell: Buffer): void {
    const kind = this.kinds[index];
    if (kind === UDP) this.udp.send(cell, this.ports[index]!, this.addrs[index]!);
    else if (kind === WS) {
      const ws = this.sockets[index]!;
      if (ws.readyState !== 1 || ws.bufferedAmount > this.wsMaxBuffered) this.counters.wsBackpressureDrops++;
      else ws.send(cell, { binary: true });
    } else this.counters.unroutable++;
  }

  /** The session at `index` ended (or the index is being reused): forget its path. */
  forget(index: number): void {
    if (index >= this.kinds.length) return;
    this.kinds[index] = NONE;
    this.sockets[index] = undefined;
  }

  /** A WebSocket closed: sessions using it have no path until their next accepted cell. */
  forgetSocket(ws: WebSocket): void {
    for (let i = 0; i < this.sockets.length; i++) {
      if (this.sockets[i] === ws) this.forget(i);
    }
  }
}
