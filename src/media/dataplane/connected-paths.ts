/**
 * Connected UDP sockets for proven paths (TypeScript data plane): once a session's cells come
 * authenticated from a client address, a second socket is bound to the cell port (SO_REUSEADDR)
 * and connect()ed to that address. Linux then delivers that client's datagrams to the connected
 * socket (it scores an exact 4-tuple match above the shared, unconnected one), so they wait in
 * their own receive queue: a flood filling the shared socket's queue no longer drops them, and
 * libuv serves every ready socket once per loop turn (up to 32 datagrams each), so the call's
 * cells are read every turn however deep the flood's queue is. This is the kernel-level
 * "established paths first" that node:dgram otherwise cannot do.
 *
 * Bounds: one socket per distinct client address:port in use by live sessions (shared by sessions
 * on one address:port), at most `max`; past it a path simply stays on the shared socket (counted).
 * Sockets are opened only on a path change the core authenticated, so a flood cannot open them.
 *
 * Trade-off (README "Performance"): SO_REUSEADDR on the cell port lets another local process that
 * also sets it bind the same port; run the relay on a host (or network namespace) of its own.
 */
import { createSocket, type RemoteInfo, type Socket, type SocketType } from 'node:dgram';

interface Peer {
  socket: Socket;
  refs: number;
}

export interface ConnectedPathsOptions {
  readonly type: SocketType;
  readonly host: string;
  readonly port: number;
  readonly max: number;
  readonly onMessage: (msg: Buffer, rinfo: RemoteInfo) => void;
}

export class ConnectedPaths {
  private readonly peers = new Map<string, Peer>();
  private readonly peerOf: Array<string | undefined> = [];
  /** connected: sockets whose connect() completed; refused: paths left on the shared socket at `max`; errors: bind/connect failures and errors reported later (ICMP). */
  readonly counters = { connected: 0, refused: 0, errors: 0 };

  constructor(private readonly opts: ConnectedPathsOptions) {}

  get size(): number {
    return this.peers.size;
  }

  /** Session `index`'s proven path is now this UDP address (called on a change only). */
  use(index: number, address: string, port: number): void {
    const key = `${address} ${port}`;
    if (this.peerOf[index] === key) return;
    this.release(index);
    let p = this.peers.get(key);
    if (p === undefined) {
      if (this.peers.size >= this.opts.max) {
        this.counters.refused++;
        return;
      }
      p = { socket: this.open(key, address, port), refs: 0 };
      this.peers.set(key, p);
    }
    p.refs++;
    this.peerOf[index] = key;
  }

  /** Session `index` ended or left UDP: its peer's socket closes when no session uses it. */
  release(index: number): void {
    const key = this.peerOf[index];
    if (key === undefined) return;
    this.peerOf[index] = undefined;
    const p = this.peers.get(key);
    if (p !== undefined && --p.refs <= 0) this.drop(key, p);
  }

  closeAll(): void {
    for (const [key, p] of this.peers) this.drop(key, p);
    this.peerOf.length = 0;
  }

  private open(key: string, address: string, port: number): Socket {
    const o = this.opts;
    // The kernel-default receive buffer: one client's cells, not a flood's, wait here.
    const s = createSocket({ type: o.type, reuseAddr: true });
    s.on('message', o.onMessage);
    let ready = false;
    s.on('error', () => {
      this.counters.errors++;
      // Once connected, errors are per-destination and transient (ICMP port unreachable while the
      // client's port is briefly closed comes back here as ECONNREFUSED): count, keep serving.
      if (ready) return;
      // bind or connect refused: the path stays on the shared socket.
      const p = this.peers.get(key);
      if (p !== undefined && p.socket === s) {
        this.peers.delete(key);
        for (let i = 0; i < this.peerOf.length; i++) if (this.peerOf[i] === key) this.peerOf[i] = undefined;
      }
      safeClose(s);
    });
    s.bind({ port: o.port, address: o.host, exclusive: true }, () => {
      if (this.peers.get(key)?.socket !== s) return;
      s.connect(port, address, () => {
        ready = true;
        if (this.peers.get(key)?.socket === s) this.counters.connected++;
      });
    });
    return s;
  }

  private drop(key: string, p: Peer): void {
    this.peers.delete(key);
    safeClose(p.socket);
  }
}

function safeClose(s: Socket): void {
  try {
    s.close();
  } catch {
    // already closed
  }
}
