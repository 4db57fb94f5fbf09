// Real-socket test clients (UDP and TCP) with a message inbox and bounded waits.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { StreamFramer } from '../../../src/turn/codec/index.js';

export class Inbox {
  private readonly queue: Buffer[] = [];
  private waiters: Array<{ pred: (b: Buffer) => boolean; resolve: (b: Buffer) => void }> = [];

  push(b: Buffer): void {
    const i = this.waiters.findIndex((w) => w.pred(b));
    if (i >= 0) {
      const [w] = this.waiters.splice(i, 1);
      w!.resolve(b);
    } else this.queue.push(b);
  }

  next(pred: (b: Buffer) => boolean = () => true, timeoutMs = 5000): Promise<Buffer> {
    const i = this.queue.findIndex(pred);
    if (i >= 0) return Promise.resolve(this.queue.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const waiter = {
        pred,
        resolve: (b: Buffer) => {
          clearTimeout(timer);
          resolve(b);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error('timed out waiting for a message'));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  get size(): number {
    return this.queue.length;
  }
}

export const byTid = (tid: Buffer) => (b: Buffer): boolean => b.length >= 20 && b.subarray(8, 20).equals(tid);

export interface WireClient {
  send(b: Buffer): void;
  inbox: Inbox;
  /** Sends a request and waits for the answer with the same transaction id. */
  call(b: Buffer): Promise<Buffer>;
  close(): Promise<void>;
  localPort(): number;
  /** TCP/TLS clients: the stream itself (to pause it, watch it close). */
  socket?: Socket;
}

export async function udpClient(serverPort: number): Promise<WireClient> {
  const s: UdpSocket = createSocket('udp4');
  const inbox = new Inbox();
  s.on('message', (m) => inbox.push(m));
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const send = (b: Buffer): void => void s.send(b, serverPort, '127.0.0.1');
  return {
    send,
    inbox,
    async call(b) {
      const tid = b.subarray(8, 20);
      // Retransmit like a real client (RFC 8489 section 6.2.1) so a lost datagram cannot flake a test.
      const p = inbox.next(byTid(tid), 5000);
      send(b);
      const timer = setInterval(() => send(b), 500);
      try {
        return await p;
      } finally {
        clearInterval(timer);
      }
    },
    close: () =>
      new Promise<void>((r) => {
        try {
          s.close(() => r());
        } catch {
          r(); // already closed
        }
      }),
    localPort: () => s.address().port,
  };
}

export async function tcpClient(serverPort: number, tls?: { ca: Buffer }, localAddress?: string): Promise<WireClient> {
  const sock: Socket = tls ? connectTls({ port: serverPort, host: '127.0.0.1', ca: tls.ca, localAddress }) : connect({ port: serverPort, host: '127.0.0.1', localAddress });
  await new Promise<void>((resolve, reject) => {
    sock.once(tls ? 'secureConnect' : 'connect', resolve);
    sock.once('error', reject);
  });
  const inbox = new Inbox();
  const framer = new StreamFramer();
  sock.on('data', (chunk: Buffer) => framer.push(chunk, (m) => inbox.push(Buffer.from(m))));
  const send = (b: Buffer): void => void sock.write(b);
  return {
    send,
    inbox,
    call(b) {
      const p = inbox.next(byTid(b.subarray(8, 20)));
      send(b);
      return p;
    },
    close: () =>
      new Promise<void>((r) => {
        if (sock.closed) return r();
        sock.once('close', () => r());
        sock.destroy();
      }),
    localPort: () => sock.localPort ?? 0,
    socket: sock,
  };
}

export async function peerSocket(): Promise<{ socket: UdpSocket; inbox: Inbox; port: number; close(): Promise<void> }> {
  const socket = createSocket('udp4');
  const inbox = new Inbox();
  socket.on('message', (m, r) => inbox.push(Buffer.concat([Buffer.from(`${r.port}|`), m])));
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  return { socket, inbox, port: socket.address().port, close: () => new Promise<void>((r) => socket.close(() => r())) };
}

/** A bare TCP connection (no TLS, no framing) that records when it opened and closed. */
export interface RawConn {
  readonly socket: Socket;
  /** performance.now() before connecting. */
  readonly openedAt: number;
  /** Resolves with performance.now() when the connection has closed (either side). */
  readonly closed: Promise<number>;
  isClosed(): boolean;
}

/** Connects (resolves once connected, or rejects if the connection fails before that). */
export function rawConnect(port: number, localAddress?: string): Promise<RawConn> {
  const openedAt = performance.now();
  const socket = connect({ port, host: '127.0.0.1', localAddress });
  socket.on('error', () => {}); // a reset from the relay is an expected outcome here
  socket.on('data', () => {});
  let done = false;
  const closed = new Promise<number>((r) => socket.once('close', () => ((done = true), r(performance.now()))));
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve({ socket, openedAt, closed, isClosed: () => done }));
    socket.once('close', () => reject(new Error('closed before connecting')));
  });
}
