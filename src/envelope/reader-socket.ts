/**
 * One mailbox reader on the `/v1/mailbox` WebSocket: challenge, Ed25519 proof of the mailbox key,
 * then stored envelopes oldest first and new ones live, at most `maxInflight` unacknowledged at once.
 * Envelopes are deleted only on acknowledgement; whatever is unacknowledged when the socket closes
 * is sent again on the next connection (at-least-once; the id lets the client drop duplicates).
 */
import { randomBytes } from 'node:crypto';
import type { WebSocket } from 'ws';
import { RelayError, type ErrorCode } from '../errors.js';
import { verifyMailboxAuth } from '../crypto/mailbox-auth.js';
import type { Logger, Redactor } from '../observability/log.js';
import { errorSummary } from '../server/http-router.js';
import type { EnvelopeMetrics } from './envelope-metrics.js';
import type { MailboxReader, MailboxService } from './mailbox-service.js';
import { CHALLENGE_BYTES, ENVELOPE_ID_BYTES, MAILBOX_ID_BYTES, PUBLIC_KEY_BYTES, SIGNATURE_BYTES, closeCodeFor, decodeB64url, encodeB64url, encodeEnvelopeFrame } from './protocol.js';
import type { ChallengeBook } from './challenge-book.js';

const MAX_ACK_IDS = 1024;
const MAX_TOKEN_CHARS = 4096;

export interface ReaderDeps {
  service: MailboxService;
  challenges: ChallengeBook;
  metrics: EnvelopeMetrics;
  logger: Logger;
  redactor: Redactor;
  authTimeoutMs: number;
  maxInflight: number;
}

export class ReaderSocket implements MailboxReader {
  private readonly challenge = randomBytes(CHALLENGE_BYTES);
  private mailbox: Uint8Array | undefined;
  private cursor: Uint8Array | undefined;
  private readonly unacked = new Set<string>();
  private pumping = false;
  private pumpAgain = false;
  private closed = false;
  private readonly authTimer: NodeJS.Timeout;

  constructor(
    private readonly ws: WebSocket,
    private readonly deps: ReaderDeps,
  ) {
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
        return void this.ack(msg.ids);
      case 'register_push':
        return void this.registerPush(msg.provider, msg.token);
      default:
        return this.fail(new RelayError('bad_frame', 'unknown message type'));
    }
  }

  private authenticate(msg: Record<string, unknown>): void {
    const mailbox = decodeB64url(msg.mailbox, MAILBOX_ID_BYTES);
    const publicKey = decodeB64url(msg.publicKey, PUBLIC_KEY_BYTES);
    const answered = decodeB64url(msg.challenge, CHALLENGE_BYTES);
    const signature = decodeB64url(msg.signature, SIGNATURE_BYTES);
    if (mailbox === undefined) return this.refuseAuth(new RelayError('bad_mailbox', 'mailbox must be 32 bytes in base64url'));
    if (publicKey === undefined) return this.refuseAuth(new RelayError('bad_key', 'publicKey must be a 32-byte Ed25519 key in base64url'));
    if (answered === undefined || signature === undefined) return this.refuseAuth(new RelayError('bad_frame', 'challenge and signature are required'));
    // A challenge answers one connection once. Ours is consumed whatever the outcome.
    const ours = Buffer.from(answered).equals(this.challenge);
    const seen = this.deps.challenges.consume(this.challenge);
    if (!ours) {
      const code: ErrorCode = this.deps.challenges.wasUsed(answered) ? 'challenge_reused' : 'bad_challenge';
      return this.refuseAuth(new RelayError(code, 'the signed challenge is not the one issued to this connection'));
    }
    if (!seen) return this.refuseAuth(new RelayError('challenge_reused', 'this challenge was already answered'));
    const verdict = verifyMailboxAuth(mailbox, publicKey, this.challenge, signature);
    if (verdict !== 'ok') return this.refuseAuth(new RelayError(verdict, verdict === 'bad_key' ? 'the key does not own this mailbox' : 'the signature does not verify'));
    clearTimeout(this.authTimer);
    this.mailbox = mailbox;
    this.deps.metrics.auth.inc(1, 'ok');
    this.deps.service.addReader(mailbox, this);
    this.deps.logger.debug({ mailbox: this.deps.redactor.id(mailbox) }, 'mailbox reader authenticated');
    this.sendJson({ type: 'ready' });
    void this.pump();
  }

  private refuseAuth(err: RelayError): void {
    this.deps.metrics.auth.inc(1, err.code);
    this.fail(err);
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
        const room = this.deps.maxInflight - this.unacked.size;
        if (room <= 0) break;
        const batch = await this.deps.service.list(this.mailbox, this.cursor, room);
        for (const env of batch) {
          if (this.closed) return;
          this.unacked.add(env.id.toString('latin1'));
          this.ws.send(encodeEnvelopeFrame(env.id, env.body));
          this.cursor = env.id;
        }
        if (batch.length === room) this.pumpAgain = true;
      } while (this.pumpAgain && !this.closed);
    } catch (err) {
      this.fail(err instanceof RelayError ? err : new RelayError('store_unavailable', 'reading the store failed'));
    } finally {
      this.pumping = false;
    }
  }

  private async ack(raw: unknown): Promise<void> {
    if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_ACK_IDS) {
      return this.fail(new RelayError('bad_frame', `ack needs 1..${MAX_ACK_IDS} ids`));
    }
    const ids: Uint8Array[] = [];
    for (const text of raw) {
      const id = decodeB64url(text, ENVELOPE_ID_BYTES);
      if (id === undefined) return this.fail(new RelayError('bad_frame', 'an ack id is not a 16-byte base64url id'));
      ids.push(id);
    }
    try {
      await this.deps.service.ack(this.mailbox!, ids);
    } catch (err) {
      return this.fail(err instanceof RelayError ? err : new RelayError('store_unavailable', 'deleting failed'));
    }
    for (const id of ids) this.unacked.delete(Buffer.from(id).toString('latin1'));
    void this.pump();
  }

  private async registerPush(provider: unknown, token: unknown): Promise<void> {
    if (typeof provider !== 'string' || typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_CHARS) {
      return this.fail(new RelayError('bad_frame', `register_push needs a provider and a token of 1..${MAX_TOKEN_CHARS} characters`));
    }
    try {
      await this.deps.service.registerPush(this.mailbox!, provider, token);
      this.sendJson({ type: 'push_registered' });
    } catch (err) {
      if (err instanceof RelayError && err.code === 'unknown_provider') return this.sendJson(err.toJSON().error, 'error');
      this.fail(err instanceof RelayError ? err : new RelayError('store_unavailable', 'storing the push target failed'));
    }
  }

  /** Sends the error, then closes with 4000 + status and the code as reason. */
  private fail(err: RelayError): void {
    if (this.closed) return;
    if (err.code === 'store_unavailable' || err.code === 'internal') this.deps.logger.warn({ err: errorSummary(err) }, 'mailbox reader closed on error');
    this.sendJson(err.toJSON().error, 'error');
    this.ws.close(closeCodeFor(err.status), err.code);
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
    this.deps.challenges.consume(this.challenge);
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
