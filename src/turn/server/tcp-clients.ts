/**
 * TURN over TCP and TLS (RFC 8656 section 3.1): each connection is one client 5-tuple; STUN messages and
 * padded ChannelData are framed off the stream (codec `StreamFramer`). Relaying to peers stays UDP.
 * A framing error or a client that stops reading (write backlog past the cap) loses its connection.
 *
 * Over TLS every message goes out in a TLS record of its own. The stream needs no such thing, but
 * clients that read one message per TLS record exist (coturn's turnutils_uclient is one), and Node
 * merges writes queued behind a pending one into a single record; so TLS writes are chained, one
 * message per write, each after the previous one's callback.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import { FrameResult, StreamFramer } from '../codec/stream-framer.js';
import type { TurnCore } from '../core/turn-core.js';
import type { ClientRef } from '../core/types.js';

/** Bytes queued for a slow reader before further sends to it are dropped. */
const MAX_WRITE_BACKLOG = 4 * 1024 * 1024;

export class TcpClients {
  readonly server: Server;
  private readonly sockets = new Set<Socket>();
  /** TLS sockets only: their per-record write chains. */
  private readonly chains = new Map<Socket, RecordChain>();
  private readonly tls: boolean;
  private nextId = 1;
  dropped = 0;

  constructor(
    private readonly core: TurnCore,
    private readonly maxConnections: number,
    private readonly now: () => number,
    /** Prefix of client keys, unique per listener (`t` TCP, `s` TLS). */
    private readonly keyPrefix = 't',
    tls?: TlsOptions,
  ) {
    this.tls = tls !== undefined;
    this.server = tls
      ? createTlsServer({ ...tls, handshakeTimeout: 10_000 }, (socket) => this.accept(socket))
      : createServer({ noDelay: true }, (socket) => this.accept(socket));
    // A failed TLS handshake is the client's problem, not the listener's.
    this.server.on('tlsClientError', (_err: Error, socket: Socket) => socket.destroy());
  }

  get count(): number {
    return this.sockets.size;
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ port, host, exclusive: true }, () => {
        this.server.off('error', reject);
        const addr = this.server.address();
        resolve(typeof addr === 'object' && addr !== null ? addr.port : port);
      });
    });
  }

  send(client: ClientRef, data: Buffer): void {
    const socket = client.conn as Socket;
    const chain = this.chains.get(socket);
    if (socket.destroyed) {
      this.dropped++;
      return;
    }
    if (socket.writableLength + (chain?.bytes ?? 0) > MAX_WRITE_BACKLOG) {
      // A client this far behind has stopped reading: it loses its connection (and allocation).
      this.dropped++;
      socket.destroy();
      return;
    }
    if (chain === undefined) socket.write(data);
    else chain.push(data);
  }

  private accept(socket: Socket): void {
    if (this.sockets.size >= this.maxConnections || socket.remoteAddress === undefined) {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    if (this.tls) this.chains.set(socket, new RecordChain(socket));
    socket.setNoDelay(true);
    const client: ClientRef = { transport: 'tcp', ip: socket.remoteAddress, port: socket.remotePort ?? 0, key: `${this.keyPrefix}${this.nextId++}`, conn: socket };
    const framer = new StreamFramer();
    const onMessage = (msg: Buffer): void => this.core.handleStream(client, msg, this.now());
    socket.on('data', (chunk: Buffer) => {
      if (framer.push(chunk, onMessage) === FrameResult.invalid) socket.destroy();
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.chains.delete(socket);
      this.core.clientClosed(client.key);
    });
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Writes one message at a time, so a TLS socket seals each in its own record. */
class RecordChain {
  private queue: Array<Buffer | undefined> = [];
  private head = 0;
  private writing = false;
  /** Bytes waiting here, not yet handed to the socket. */
  bytes = 0;

  constructor(private readonly socket: Socket) {}

  push(data: Buffer): void {
    if (this.writing) {
      this.queue.push(data);
      this.bytes += data.length;
      return;
    }
    this.write(data);
  }

  private write(data: Buffer): void {
    this.writing = true;
    this.socket.write(data, this.next);
  }

  private readonly next = (err?: Error | null): void => {
    if (err || this.head === this.queue.length) {
      this.writing = false;
      this.queue.length = this.head = this.bytes = 0;
      return;
    }
    const data = this.queue[this.head]!;
    this.queue[this.head++] = undefined; // sent: do not keep it alive
    this.bytes -= data.length;
    if (this.head === this.queue.length) this.queue.length = this.head = 0;
    else if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.head); // a chain that never empties stays bounded
      this.head = 0;
    }
    this.write(data);
  };
}
