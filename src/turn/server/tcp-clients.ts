/**
 * TURN over TCP and TLS (RFC 8656 section 3.1): each connection is one client 5-tuple; STUN messages and
 * padded ChannelData are framed off the stream (codec `StreamFramer`). Relaying to peers stays UDP.
 * One `TcpClients` serves both listeners, so its caps count TCP and TLS together.
 *
 * What one client can hold, and what closes it (each counted in `closed`, exported as
 * `xrelay_turn_tcp_closed_total{reason}`):
 *  - a slot: admission, idle deadline and eviction are the sans-IO `StreamGuard`'s (core/stream-guard.ts).
 *    TLS is accepted as plain TCP and wrapped here, so a connection is admitted, capped and timed from
 *    its first byte, its handshake included (`tls_handshake` when the deadline finds it unfinished).
 *    Refused connections (`refused`) and evicted ones (`evicted`) are closed at once;
 *  - a framing error (`framing`) or TLS failure before the handshake completes (`tls_error`) closes
 *    that connection only; a partial message buffers at most about twice what arrived, up to 64 KiB;
 *  - a client that stops reading: past MAX_WRITE_BACKLOG queued for it, the connection goes
 *    (`slow_reader`), and with it its allocation.
 * Every socket has an 'error' listener before anything can happen on it, and the listeners keep one
 * after they start (an accept failure such as EMFILE is counted in `acceptErrors`, not thrown).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { createSecureContext, TLSSocket, type SecureContext, type SecureContextOptions } from 'node:tls';
import { FrameResult, StreamFramer } from '../codec/stream-framer.js';
import { StreamGuard } from '../core/stream-guard.js';
import type { TurnCore } from '../core/turn-core.js';
import type { ClientRef } from '../core/types.js';
import { RecordChain } from './record-chain.js';

/** Bytes queued for a slow reader before its connection is closed. */
const MAX_WRITE_BACKLOG = 4 * 1024 * 1024;

export const TCP_CLOSE_REASONS = ['idle', 'tls_handshake', 'evicted', 'refused', 'framing', 'tls_error', 'slow_reader'] as const;
export type TcpCloseReason = (typeof TCP_CLOSE_REASONS)[number];

/** Where TcpClients reports what it does not handle itself (the plane logs, rate-limited). */
export interface TcpReport {
  /** A lifecycle warning (accept failures). */
  warn(what: string, code: string | undefined): void;
  /** The core threw on a message: a bug; the message was dropped. */
  bug(err: unknown): void;
}

export interface TcpLimits {
  readonly maxConnections: number;
  readonly maxPerAddress: number;
  readonly idleTimeoutMs: number;
}

interface Conn {
  readonly key: string;
  readonly socket: Socket;
  /** TLS only: its per-record write chain. */
  readonly chain: RecordChain | undefined;
  /** TCP from the start; TLS once the handshake completed. */
  ready: boolean;
  /** Closed or being closed by us: sends to it are dropped. */
  gone: boolean;
}

export class TcpClients {
  /** Connections the relay closed, by reason. */
  readonly closed: Record<TcpCloseReason, number> = Object.fromEntries(TCP_CLOSE_REASONS.map((r) => [r, 0])) as Record<TcpCloseReason, number>;
  /** Failed accepts (EMFILE, ENFILE...): the listener keeps serving. */
  acceptErrors = 0;
  /** Sends dropped: connection gone, or the slow reader's last message. */
  dropped = 0;
  private readonly guard: StreamGuard;
  private readonly conns = new Map<string, Conn>();
  private readonly servers: Server[] = [];
  private timer: NodeJS.Timeout | undefined;
  private nextId = 1;
  /** The TLS listener's certificate; SIGHUP swaps it (new handshakes only, live connections stay). */
  private secure: SecureContext | undefined;

  constructor(
    private readonly core: TurnCore,
    limits: TcpLimits,
    /** The core's clock (wall time). */
    private readonly now: () => number,
    private readonly report: TcpReport = { warn() {}, bug() {} },
    /** The guard's clock: monotonic, so its deadlines stay in order. */
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.guard = new StreamGuard({ maxConnections: limits.maxConnections, maxPerAddress: limits.maxPerAddress, idleMs: limits.idleTimeoutMs });
  }

  /** Open connections over both transports. */
  get count(): number {
    return this.conns.size;
  }

  /** Listens for TCP clients, or TLS ones when `tls` is given; resolves with the bound port. */
  listen(port: number, host: string, tls?: SecureContextOptions): Promise<number> {
    if (tls) this.secure = createSecureContext(tls);
    const prefix = tls ? 's' : 't';
    const server = createServer({ noDelay: true }, (raw) => this.accept(raw, prefix, tls ? this.secure : undefined));
    this.servers.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host, exclusive: true }, () => {
        server.off('error', reject);
        server.on('error', (err: NodeJS.ErrnoException) => {
          this.acceptErrors++;
          this.report.warn('turn stream accept failed', err.code);
        });
        const addr = server.address();
        resolve(typeof addr === 'object' && addr !== null ? addr.port : port);
      });
    });
  }

  /** Replaces the TLS certificate for connections accepted from now on; false when no TLS listener runs. */
  setTlsContext(pair: SecureContextOptions): boolean {
    if (this.secure === undefined) return false;
    this.secure = createSecureContext(pair);
    return true;
  }

  send(client: ClientRef, data: Buffer): void {
    const conn = client.conn as Conn;
    if (conn.gone || conn.socket.destroyed) {
      this.dropped++;
      return;
    }
    if (conn.socket.writableLength + (conn.chain?.bytes ?? 0) > MAX_WRITE_BACKLOG) {
      // A client this far behind has stopped reading: it loses its connection (and allocation).
      this.dropped++;
      this.drop(conn.key, 'slow_reader');
      return;
    }
    if (conn.chain === undefined) conn.socket.write(data);
    else conn.chain.push(data);
  }

  /** The connection's allocation opened: it is kept (no idle deadline, never evicted). */
  allocationOpened(key: string): void {
    this.guard.allocated(key);
  }

  /** Its allocation ended while the connection stays: the idle deadline starts again. */
  allocationClosed(key: string): void {
    this.guard.released(key, this.clock());
    this.arm();
  }

  private accept(raw: Socket, prefix: string, secure: SecureContext | undefined): void {
    raw.on('error', () => raw.destroy()); // whatever the wrapping below does, never an unhandled 'error'
    const ip = raw.remoteAddress;
    if (ip === undefined) {
      raw.destroy(); // already gone
      return;
    }
    const key = `${prefix}${this.nextId++}`;
    const verdict = this.guard.admit(key, ip, this.clock());
    if (!verdict.admitted) {
      this.closed.refused++;
      raw.destroy();
      return;
    }
    if (verdict.evict !== undefined) this.drop(verdict.evict, 'evicted');
    const socket = secure ? new TLSSocket(raw, { isServer: true, secureContext: secure }) : raw;
    const conn: Conn = { key, socket, chain: secure ? new RecordChain(socket) : undefined, ready: !secure, gone: false };
    const client: ClientRef = { transport: 'tcp', ip, port: raw.remotePort ?? 0, key, conn };
    this.conns.set(key, conn);
    if (secure) {
      socket.once('secure', () => (conn.ready = true));
      socket.on('error', () => (conn.ready ? socket.destroy() : this.drop(key, 'tls_error')));
      raw.on('close', () => socket.destroy());
    }
    const framer = new StreamFramer();
    const onMessage = (msg: Buffer): void => {
      try {
        this.core.handleStream(client, msg, this.now());
      } catch (err) {
        this.report.bug(err); // a bug must not take the process (and every other client) down
      }
    };
    socket.on('data', (chunk: Buffer) => {
      if (!conn.gone && framer.push(chunk, onMessage) === FrameResult.invalid) this.drop(key, 'framing');
    });
    socket.on('close', () => {
      conn.gone = true;
      if (this.conns.get(key) === conn) this.conns.delete(key);
      this.guard.remove(key);
      this.core.clientClosed(key);
    });
    this.arm();
  }

  /** Closes connection `key` now for `reason` (counted once; its 'close' frees the allocation). */
  private drop(key: string, reason: TcpCloseReason): void {
    const conn = this.conns.get(key);
    this.guard.remove(key);
    if (conn === undefined || conn.gone) return;
    conn.gone = true;
    this.conns.delete(key);
    this.closed[reason]++;
    conn.socket.destroy();
  }

  /** Runs the idle timer to the guard's next deadline (the deadlines only ever come later). */
  private arm(): void {
    if (this.timer !== undefined) return;
    const at = this.guard.nextDeadline();
    if (at === Infinity) return;
    this.timer = setTimeout(this.expire, Math.max(0, Math.ceil(at - this.clock())));
    this.timer.unref();
  }

  private readonly expire = (): void => {
    this.timer = undefined;
    for (const key of this.guard.expire(this.clock())) {
      const conn = this.conns.get(key);
      if (conn !== undefined) this.drop(key, conn.ready ? 'idle' : 'tls_handshake');
    }
    this.arm();
  };

  close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const conn of this.conns.values()) conn.socket.destroy();
    return Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())))).then(() => undefined);
  }
}
