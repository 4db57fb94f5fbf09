/**
 * Writes one message at a time, so a TLS socket seals each in its own record. The stream needs no
 * such thing, but clients that read one message per TLS record exist (coturn's turnutils_uclient
 * is one), and Node merges writes queued behind a pending one into a single record; so TLS writes
 * are chained, one message per write, each after the previous one's callback. `bytes` is what
 * waits here; the caller bounds it with the socket's own backlog (tcp-clients.ts).
 */
import type { Socket } from 'node:net';

export class RecordChain {
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
