/**
 * Backpressure and liveness of one envelope socket (`/v1/post` or `/v1/mailbox`), sans-IO: the driver
 * reports what happened (a frame arrived, a post started or ended) and the socket's send-buffer size,
 * with `now`; this says whether to stop reading or sending and whether the socket has to go. Nothing
 * here reads a clock or touches a socket (test/envelope/socket-flow.test.ts passes plain numbers).
 */
export interface FlowLimits {
  /** Above this many bytes in the send buffer, stop reading frames / sending envelopes. */
  maxBufferedBytes: number;
  /** A send buffer above maxBufferedBytes for this long is a client that does not read. */
  stallMs: number;
  /** Posts being stored at once (post sockets); Infinity for readers. */
  maxInflight: number;
  /** No frame for this long closes the socket; 0: never (readers may wait for mail forever). */
  idleMs: number;
}

export type FlowVerdict = 'ok' | 'idle_timeout' | 'slow_consumer';

export class SocketFlow {
  /** Work started for this socket and not yet answered (posts being stored). */
  inflight = 0;
  private lastActivityMs: number;
  private overSinceMs: number | undefined;
  /** Readers: since when something sent is waiting for an ack with no ack progress. */
  private awaitingAckSinceMs: number | undefined;

  constructor(
    private readonly limits: FlowLimits,
    nowMs: number,
  ) {
    this.lastActivityMs = nowMs;
  }

  /** A frame or a ping arrived. */
  onActivity(nowMs: number): void {
    this.lastActivityMs = nowMs;
  }

  /** A reader was sent an envelope; the ack clock starts unless it is already running. */
  onAwaitingAck(nowMs: number): void {
    this.awaitingAckSinceMs ??= nowMs;
  }

  /** A reader acknowledged something: progress, so the ack clock restarts (or stops when nothing is left). */
  onAcked(nowMs: number, stillAwaiting: boolean): void {
    this.awaitingAckSinceMs = stillAwaiting ? nowMs : undefined;
  }

  /** The send buffer is over its bound: send nothing more, read nothing more that would be answered. */
  overBuffered(bufferedBytes: number): boolean {
    return bufferedBytes > this.limits.maxBufferedBytes;
  }

  /** Why the socket must stop reading now, or undefined when it may read. */
  blockedBy(bufferedBytes: number): 'buffered' | 'inflight' | undefined {
    if (this.overBuffered(bufferedBytes)) return 'buffered';
    if (this.inflight >= this.limits.maxInflight) return 'inflight';
    return undefined;
  }

  /**
   * The periodic check. A socket over its buffer bound is stalled from the first check (or
   * `noteBuffered`) that saw it over, until one sees it under again; a reader also when envelopes
   * wait for an ack and no ack came for stallMs (it holds them, and the kernel's buffers, unread); idleness counts only while
   * nothing is in flight and the buffer is under its bound, so neither a slow store nor a stall is
   * taken for idleness.
   */
  check(nowMs: number, bufferedBytes: number): FlowVerdict {
    this.noteBuffered(nowMs, bufferedBytes);
    if (this.overSinceMs !== undefined && nowMs - this.overSinceMs >= this.limits.stallMs) return 'slow_consumer';
    if (this.awaitingAckSinceMs !== undefined && nowMs - this.awaitingAckSinceMs >= this.limits.stallMs) return 'slow_consumer';
    const idle = this.limits.idleMs > 0 && this.inflight === 0 && this.overSinceMs === undefined;
    if (idle && nowMs - this.lastActivityMs >= this.limits.idleMs) return 'idle_timeout';
    return 'ok';
  }

  /**
   * Records when the send buffer went over (or back under) its bound. Time spent over it is the
   * stall clock's, not the idle clock's: a socket that stopped reading because of it restarts its
   * idle clock when the buffer drains.
   */
  noteBuffered(nowMs: number, bufferedBytes: number): void {
    if (this.overBuffered(bufferedBytes)) this.overSinceMs ??= nowMs;
    else if (this.overSinceMs !== undefined) {
      this.overSinceMs = undefined;
      this.lastActivityMs = Math.max(this.lastActivityMs, nowMs);
    }
  }
}
