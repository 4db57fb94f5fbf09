/**
 * One mailbox reader on the `/v1/mailbox` WebSocket: challenge, Ed25519 proof of the mailbox key,
 * then stored envelopes oldest first and new ones live, at most `maxInflight` envelopes and
 * `maxInflightBytes` bytes unacknowledged at once (one envelope always fits, whatever its size), and
 * nothing more while the socket's send buffer holds over `socketMaxBufferedBytes`. A reader whose
 * buffer stays over that bound, or that acknowledges nothing of what it was sent, for
 * `socketStallTimeoutSec` is closed with `slow_consumer`.
 * Envelopes are deleted only on acknowledgement; whatever is unacknowledged when the socket closes
 * is sent again on the next connection (at-least-once; the id lets the client drop duplicates).
 */
import { randomBytes } from 'node:crypto';
import type { WebSocket } from 'ws';
import { RelayError } from '../../errors.js';
import type { Logger, Redactor } from '../../observability/log.js';
import { errorSummary } from '../../observability/error-summary.js';
import type { EnvelopeMetrics } from './envelope-metrics.js';
import type { MailboxService } from '../core/mailbox-service.js';
import type { MailboxReader } from '../core/mailbox-notifier.js';
import { CHALLENGE_BYTES, closeCodeFor, encodeB64url, encodeEnvelopeFrame } from '../../wire/envelope-protocol.js';
import type { ChallengeBook } from '../core/challenge-book.js';
import type { FlowVerdict, SocketFlow } from '../core/socket-flow.js';
import { UnackedWindow, checkAuth, parseAckIds, parsePushRegistration } from '../core/reader-protocol.js';

/** Store reads per pump step: bounds what one step holds in memory (16 x 64 KiB at most). */
const LIST_BATCH = 16;
/** Acks and push registrations of one reader being worked on at once; past it the socket stops reading. */
const MAX_PENDING_OPS = 4;
/**
 * A store read that failed (the store is away: Redis restarting, a failover) is tried again after
 * this delay, doubling up to READ_RETRY_MAX_MS; the reader stays connected meanwhile. Closing it
 * would turn one Redis blip into a reconnect storm of every live reader of the cluster, and a
 * reader without reconnect logic would be gone for good.
 */
const READ_RETRY_MIN_MS = 250;
const READ_RETRY_MAX_MS = 5_000;

export interface ReaderDeps {
  service: MailboxService;
  challenges: ChallengeBook;
  metrics: EnvelopeMetrics;
  logger: Logger;
  redactor: Redactor;
  authTimeoutMs: number;
  maxInflight: number;
  maxInflightBytes: number;
  flow: SocketFlow;
  now: () => number;
  /** Takes an authentication token of this client's address: 0 when allowed, else seconds to wait. */
  takeAuthToken: () => number;
}

export class ReaderSocket implements MailboxReader {
  private readonly challenge = randomBytes(CHALLENGE_BYTES);
  private mailbox: Uint8Array | undefined;
  private cursor: Uint8Array | undefined;
  private readonly unacked: UnackedWindow;
  private pumping = false;
  private pumpAgain = false;
  /** The pump stopped on a full send buffer; a flushed send restarts it. */
  private waitingForDrain = false;
  private pendingOps = 0;
  private closed = false;
  private readRetry: NodeJS.Timeout | undefined;
  private readRetryMs = 0;
  private readonly authTimer: NodeJS.Timeout;
  private readonly onSent = (): void => {
    if (!this.waitingForDrain || this.deps.flow.overBuffered(this.ws.bufferedAmount)) return;
    this.waitingForDrain = false;
    void this.pump();
  };

  constructor(
    private readonly ws: WebSocket,
    private readonly deps: ReaderDeps,
  ) {
    this.unacked = new UnackedWindow(deps.maxInflight, deps.maxInflightBytes);
    deps.challenges.issue(this.challenge);
    this.authTimer = setTimeout(() => this.fail(new RelayError('auth_timeout', 'no answer to the challenge in time')), deps.authTimeoutMs);
    ws.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary));
    ws.on('close', () => this.onClose());
    ws.on('error', () => this.onClose());
    this.sendJson({ type: 'challenge', challenge: encodeB64url(this.challenge) });
  }

  onEnvelopesAvailable(): void {
    void this.pump();
  }

  /** A newer reader of the same mailbox took this one's place (envelope.maxReadersPerMailbox). */
  onReplaced(): void {
    this.fail(new RelayError('reader_replaced', 'a newer reader of this mailbox replaced this one'));
  }

  /** Periodic check (the plane's sweep): a reader that leaves its envelopes unread goes. */
  tick(nowMs: number): FlowVerdict {
    if (this.closed) return 'ok';
    const verdict = this.deps.flow.check(nowMs, this.ws.bufferedAmount);
    if (verdict !== 'ok') this.fail(new RelayError(verdict, 'envelopes left unread or unacknowledged past envelope.socketStallTimeoutSec'));
    return verdict;
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (this.closed) return;
    const msg = isBinary ? undefined : parseJson(data);
    if (msg === undefined) return this.fail(new RelayError('bad_frame', 'expected a JSON text frame'));
    if (this.mailbox === undefined) {
      if (msg.type !== 'auth') return this.fail(new RelayError('auth_required', 'answer the challenge first'));
      return this.authenticate(msg);
    }
    switch (msg.type) {
      case 'ack':
        return this.runOp(this.ack(msg.ids));
      case 'register_push':
        return this.runOp(this.registerPush(msg.provider, msg.token));
      default:
        return this.fail(new RelayError('bad_frame', 'unknown message type'));
    }
  }

  /** Store work a frame asked for; past MAX_PENDING_OPS the socket stops reading until some finish. */
  private runOp(op: Promise<void>): void {
    this.pendingOps++;
    if (this.pendingOps >= MAX_PENDING_OPS && !this.ws.isPaused) this.ws.pause();
    void op.finally(() => {
      this.pendingOps--;
      if (this.pendingOps < MAX_PENDING_OPS && this.ws.isPaused && !this.closed) this.ws.resume();
    });
  }

  private authenticate(msg: Record<string, unknown>): void {
    // Before the key checks (~2 ms of CPU each): one address cannot make the relay spend more.
    const waitSec = this.deps.takeAuthToken();
    if (waitSec > 0) return this.fail(new RelayError('rate_limited', 'too many mailbox authentications from this address', { retryAfterSec: waitSec }));
    const mailbox = checkAuth(msg, this.challenge, this.deps.challenges);
    if (mailbox instanceof RelayError) return this.fail(mailbox);
    clearTimeout(this.authTimer);
    this.mailbox = mailbox;
    this.deps.metrics.auth.inc(1, 'ok');
    this.deps.service.addReader(mailbox, this);
    this.deps.logger.debug({ mailbox: this.deps.redactor.id(mailbox) }, 'mailbox reader authenticated');
    this.sendJson({ type: 'ready' });
    void this.pump();
  }

  /** Sends stored envelopes past the cursor while the unacknowledged window has room. */
  private async pump(): Promise<void> {
    if (this.mailbox === undefined || this.closed) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        // Nothing unacknowledged: everything sent was acknowledged and deleted, so reading from the
        // start costs nothing more and also finds an envelope stored behind the cursor (cluster mode:
        // a node whose clock trails another's, posting to a mailbox emptied meanwhile).
        if (this.unacked.size === 0) this.cursor = undefined;
        const limit = Math.min(this.unacked.room(), LIST_BATCH);
        if (limit <= 0 || !this.mayPump()) break;
        const batch = await this.deps.service.list(this.mailbox, this.cursor, limit);
        this.readRetryMs = 0;
        let sent = 0;
        for (const env of batch) {
          if (this.closed) return;
          const bytes = 1 + env.id.length + env.body.length;
          if (!this.mayPump() || !this.unacked.fits(bytes)) break;
          this.unacked.add(env.id, bytes);
          this.ws.send(encodeEnvelopeFrame(env.id, env.body), this.onSent);
          this.deps.flow.onAwaitingAck(this.deps.now());
          this.cursor = env.id;
          sent++;
        }
        if (sent === limit) this.pumpAgain = true;
      } while (this.pumpAgain && !this.closed);
    } catch (err) {
      if (err instanceof RelayError && err.code !== 'store_unavailable') this.fail(err);
      else this.retryReadLater();
    } finally {
      this.pumping = false;
    }
  }

  /** The store could not be read: read again later (backing off); the reader stays. Counted. */
  private retryReadLater(): void {
    if (this.closed || this.readRetry !== undefined) return;
    this.readRetryMs = Math.min(READ_RETRY_MAX_MS, Math.max(READ_RETRY_MIN_MS, this.readRetryMs * 2));
    this.deps.metrics.readRetries.inc();
    this.readRetry = setTimeout(() => {
      this.readRetry = undefined;
      void this.pump();
    }, this.readRetryMs);
  }

  /** Room to send: the send buffer is under its bound (else wait for a flush) and the socket is open. */
  private mayPump(): boolean {
    if (this.closed) return false;
    if (!this.deps.flow.overBuffered(this.ws.bufferedAmount)) return true;
    if (!this.waitingForDrain) {
      this.waitingForDrain = true;
      this.deps.flow.noteBuffered(this.deps.now(), this.ws.bufferedAmount);
      this.deps.metrics.pauses.inc(1, 'reader_buffered');
    }
    return false;
  }

  private async ack(raw: unknown): Promise<void> {
    const ids = parseAckIds(raw);
    if (ids instanceof RelayError) return this.fail(ids);
    try {
      await this.deps.service.ack(this.mailbox!, ids);
    } catch (err) {
      return this.fail(err instanceof RelayError ? err : new RelayError('store_unavailable', 'deleting failed'));
    }
    const progress = this.unacked.ack(ids);
    if (progress) this.deps.flow.onAcked(this.deps.now(), this.unacked.size > 0);
    void this.pump();
  }

  private async registerPush(provider: unknown, token: unknown): Promise<void> {
    const target = parsePushRegistration(provider, token);
    if (target instanceof RelayError) return this.fail(target);
    try {
      await this.deps.service.registerPush(this.mailbox!, target.provider, target.token);
      this.sendJson({ type: 'push_registered' });
    } catch (err) {
      // Refusals of this registration only: the reader keeps its socket.
      if (err instanceof RelayError && (err.code === 'unknown_provider' || err.code === 'push_targets_full')) return this.sendJson(err.toJSON().error, 'error');
      this.fail(err instanceof RelayError ? err : new RelayError('store_unavailable', 'storing the push target failed'));
    }
  }

  /**
   * Sends the error, then closes with 4000 + status and the code as reason. Counted: before
   * authentication under `xrelay_mailbox_auth_total{result=code}`, after it under
   * `xrelay_envelopes_rejected_total{code}`.
   */
  private fail(err: RelayError): void {
    if (this.closed) return;
    if (this.mailbox === undefined) this.deps.metrics.auth.inc(1, err.code);
    else this.deps.metrics.rejected.inc(1, err.code);
    if (err.code === 'store_unavailable' || err.code === 'internal') this.deps.logger.warn({ err: errorSummary(err) }, 'mailbox reader closed on error');
    this.sendJson(err.toJSON().error, 'error');
    this.ws.close(closeCodeFor(err.status), err.code);
    if (this.ws.isPaused && err.code !== 'slow_consumer') this.ws.resume(); // read the client's close frame
    this.onClose();
  }

  private sendJson(body: Record<string, unknown>, type?: string): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(JSON.stringify(type === undefined ? body : { type, ...body }));
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.authTimer);
    clearTimeout(this.readRetry);
    this.deps.challenges.consume(this.challenge);
    this.unacked.clear();
    if (this.mailbox !== undefined) this.deps.service.removeReader(this.mailbox, this);
  }
}

function parseJson(data: Buffer): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(data.toString('utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
