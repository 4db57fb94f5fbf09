/**
 * Anonymous posting over the `/v1/post` WebSocket, for clients that keep a socket open instead of
 * making one HTTP request per envelope. Same rules and codes as the HTTP endpoint. It is a separate
 * socket from the reader's on purpose: posting on an authenticated reader socket would tell the
 * relay which mailbox owner sends to which mailbox, the very graph it must not hold.
 *
 * Bounds (docs/ENVELOPES.md): at most `postMaxInflightPerSocket` posts are being stored at once and
 * the socket stops reading (TCP backpressure reaches the client) while that many are in flight or
 * while its send buffer holds more than `socketMaxBufferedBytes` of unread answers. Frames the
 * socket had already read when it paused (at most one socket read) wait in `backlog`, so the
 * in-flight cap is exact. A client that leaves its answers unread for `socketStallTimeoutSec` is
 * closed with `slow_consumer`; one that sends nothing for `postIdleTimeoutSec` with `idle_timeout`.
 */
import type { WebSocket } from 'ws';
import { RelayError } from '../../errors.js';
import type { EnvelopeMetrics } from './envelope-metrics.js';
import type { MailboxService } from '../core/mailbox-service.js';
import { POST_HEADER_BYTES, encodeB64url } from '../../wire/envelope-protocol.js';
import type { FlowVerdict, SocketFlow } from '../core/socket-flow.js';
import { closeWithError, errorMessage } from './socket-refusal.js';

export interface PostSocketDeps {
  service: MailboxService;
  metrics: EnvelopeMetrics;
  flow: SocketFlow;
  clientKey: string;
  now: () => number;
}

export class PostSocket {
  private readonly backlog: Buffer[] = [];
  private closed = false;
  /** Why the socket is paused now (a change of reason while paused is counted too). */
  private pausedFor: 'buffered' | 'inflight' | undefined;
  /** One bound callback for every send: a flushed answer may let a paused socket read again. */
  private readonly onSent = (): void => this.resumeIfClear();

  constructor(
    private readonly ws: WebSocket,
    private readonly deps: PostSocketDeps,
  ) {
    ws.on('message', (data: Buffer, isBinary: boolean) => this.onFrame(data, isBinary));
    ws.on('ping', () => deps.flow.onActivity(deps.now()));
    ws.on('close', () => this.onClose()); // 'error' (a protocol violation) is the router's: it counts it, ws closes
  }

  /** Periodic liveness check (the plane's sweep); closes an idle or stalled socket with its code. */
  tick(nowMs: number): FlowVerdict {
    if (this.closed) return 'ok';
    const verdict = this.deps.flow.check(nowMs, this.ws.bufferedAmount);
    if (verdict !== 'ok') {
      const message = verdict === 'idle_timeout' ? 'no frame within envelope.postIdleTimeoutSec' : 'answers left unread past envelope.socketStallTimeoutSec';
      this.fail(this.deps.service.refusal(verdict, message));
    }
    return verdict;
  }

  private onFrame(data: Buffer, isBinary: boolean): void {
    if (this.closed) return;
    this.deps.flow.onActivity(this.deps.now());
    if (!isBinary || data.length < POST_HEADER_BYTES) {
      return this.fail(this.deps.service.refusal('bad_frame', 'expected a binary frame: tag(4) || mailbox(32) || envelope'));
    }
    if (this.backlog.length > 0 || this.deps.flow.blockedBy(this.ws.bufferedAmount) !== undefined) this.backlog.push(data);
    else this.handle(data);
    this.pauseIfBlocked();
  }

  private handle(data: Buffer): void {
    const tag = data.readUInt32BE(0);
    const mailbox = data.subarray(4, POST_HEADER_BYTES);
    const body = data.subarray(POST_HEADER_BYTES);
    try {
      this.deps.service.checkRate(this.deps.clientKey);
    } catch (err) {
      return this.answer(tag, errorMessage(err));
    }
    const flow = this.deps.flow;
    flow.inflight++;
    this.deps.service.post(mailbox, body).then(
      (id) => this.answered(tag, { type: 'posted', id: encodeB64url(id) }),
      (err: unknown) => this.answered(tag, errorMessage(err)),
    );
  }

  private answered(tag: number, msg: Record<string, unknown>): void {
    this.deps.flow.inflight--;
    this.answer(tag, msg);
    this.resumeIfClear();
  }

  private answer(tag: number, msg: Record<string, unknown>): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    msg.tag = tag;
    this.ws.send(JSON.stringify(msg), this.onSent);
  }

  private pauseIfBlocked(): void {
    const why = this.deps.flow.blockedBy(this.ws.bufferedAmount);
    if (why === undefined || why === this.pausedFor || this.closed) return;
    this.deps.flow.noteBuffered(this.deps.now(), this.ws.bufferedAmount);
    this.deps.metrics.pauses.inc(1, why === 'buffered' ? 'post_buffered' : 'post_inflight');
    this.pausedFor = why;
    if (!this.ws.isPaused) this.ws.pause();
  }

  /** Works the backlog down while the socket is clear, then reads again. */
  private resumeIfClear(): void {
    if (this.closed) return;
    while (this.backlog.length > 0 && this.deps.flow.blockedBy(this.ws.bufferedAmount) === undefined) this.handle(this.backlog.shift()!);
    if (this.backlog.length > 0 || this.deps.flow.blockedBy(this.ws.bufferedAmount) !== undefined) return this.pauseIfBlocked();
    this.pausedFor = undefined;
    if (this.ws.isPaused) this.ws.resume();
  }

  private fail(err: RelayError): void {
    if (this.closed) return;
    closeWithError(this.ws, err);
    // Read the client's close frame, unless it is a client that does not read: its close frame
    // cannot come before it reads ours, and the router's close timeout drops it.
    if (this.ws.isPaused && err.code !== 'slow_consumer') this.ws.resume();
    this.onClose();
  }

  /** Frees what the socket held; posts already being stored finish, their answers are dropped. */
  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.backlog.length = 0;
  }
}
