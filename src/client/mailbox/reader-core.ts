/**
 * Reading a mailbox: connect, prove the key, receive envelopes (stored ones oldest first, then live
 * ones), acknowledge them, reconnect with backoff when the connection drops. Delivery is
 * at-least-once: an envelope whose ack did not reach the relay comes again on the next connection;
 * this reader drops such duplicates by id (re-acknowledging those the app already acknowledged).
 */
import { CHALLENGE_BYTES, READER_PATH, authMessage, decodeB64url, decodeEnvelopeFrame, encodeB64url } from '../../wire/envelope-protocol.js';
import { XrelayClientError, type ClientErrorCode } from '../client-error.js';
import { TypedEmitter } from '../emitter.js';
import { sodiumOrThrow } from '../crypto-lib.js';
import { ready } from '../ready.js';
import { relayWsUrl } from '../relay-url.js';
import { currentRuntime, type NodeSocketOptions, type SocketPort } from '../runtime.js';
import type { MailboxKeys } from './mailbox-keys.js';

export interface ReaderOptions {
  relayUrl: string;
  keys: MailboxKeys;
  /** Acknowledge every envelope as soon as it is emitted. Default false: call ack() once it is safe. */
  autoAck?: boolean;
  /** Backoff between reconnects, doubling from minMs to maxMs with jitter. Default 250..30 000. */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** How many recent ids are remembered to drop duplicates. Default 10 000. */
  dedupeWindow?: number;
  /** Node only (TLS trust, headers); a browser ignores it. */
  wsOptions?: NodeSocketOptions;
}

export interface ReceivedEnvelope {
  id: string;
  body: Uint8Array;
}

export type ReaderEvents = {
  ready: [];
  envelope: [ReceivedEnvelope];
  /** A refusal from the relay (`code` from the error table) or a transport error (`network`). */
  problem: [{ code: ClientErrorCode; message: string }];
  close: [{ code: number; reason: string; willReconnect: boolean }];
};

/** Refusals that retrying cannot fix. */
// reader_replaced: a newer reader of this key took the place (reconnecting would evict it in turn).
const FATAL: ReadonlySet<string> = new Set(['bad_key', 'bad_signature', 'bad_mailbox', 'bad_frame', 'forbidden', 'unsupported', 'reader_replaced']);

export class MailboxReader extends TypedEmitter<ReaderEvents> {
  private ws: SocketPort | undefined;
  private readyNow = false;
  private stopped = false;
  private backoffMs: number;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly seen = new Map<string, boolean>(); // id -> acknowledged by the app
  private pendingAcks: string[] = [];
  private pushWaiters: Array<{ resolve: () => void; reject: (e: XrelayClientError) => void }> = [];

  constructor(private readonly opts: ReaderOptions) {
    super();
    this.backoffMs = opts.reconnectMinMs ?? 250;
  }

  get connected(): boolean {
    return this.readyNow;
  }

  /**
   * Connects and resolves once authenticated; later drops reconnect by themselves. Rejects with the
   * relay's code when it refuses for good (`bad_key`, `bad_signature`, `forbidden`, ...).
   */
  async connect(): Promise<void> {
    await ready();
    this.stopped = false;
    return new Promise((resolve, reject) => {
      const onReady = (): void => {
        this.off('close', onClose);
        resolve();
      };
      const onClose = (c: { code: number; reason: string; willReconnect: boolean }): void => {
        if (c.willReconnect) return;
        this.off('ready', onReady);
        const code = (c.reason !== '' ? c.reason : 'network') as ClientErrorCode;
        reject(new XrelayClientError(code, `mailbox connection refused (${c.code})`));
      };
      this.once('ready', onReady);
      this.on('close', onClose);
      this.open();
    });
  }

  /** Acknowledges envelopes by id; the relay then deletes them. Queued while disconnected. */
  ack(ids: readonly string[]): void {
    for (const id of ids) this.seen.set(id, true);
    this.pendingAcks.push(...ids);
    this.flushAcks();
  }

  /** Registers where content-free wakes go when this mailbox has no live reader. */
  registerPush(provider: string, token: string): Promise<void> {
    if (!this.readyNow) return Promise.reject(new XrelayClientError('closed', 'the reader is not connected'));
    return new Promise((resolve, reject) => {
      this.pushWaiters.push({ resolve, reject });
      this.ws!.send(JSON.stringify({ type: 'register_push', provider, token }));
    });
  }

  close(): void {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    this.ws?.close(1000);
  }

  private onText(ws: SocketPort, text: string, refuse: (code: string) => void): void {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return;
    }
    if (msg.type === 'challenge') this.answer(ws, msg.challenge);
    else if (msg.type === 'ready') {
      this.readyNow = true;
      this.backoffMs = this.opts.reconnectMinMs ?? 250;
      this.flushAcks();
      this.emit('ready');
    } else if (msg.type === 'push_registered') this.pushWaiters.shift()?.resolve();
    else if (msg.type === 'error') {
      const code = String(msg.code) as ClientErrorCode;
      if (code === 'unknown_provider' || code === 'push_targets_full') this.pushWaiters.shift()?.reject(new XrelayClientError(code, `${code}: ${String(msg.message)}`));
      else refuse(code);
      this.emit('problem', { code, message: String(msg.message) });
    }
  }

  private open(): void {
    const url = relayWsUrl(this.opts.relayUrl, READER_PATH);
    let refusal: string | undefined;
    let ws: SocketPort | undefined;
    const onClose = (code: number, closeReason: string): void => {
      if (this.ws !== ws) return;
      this.readyNow = false;
      for (const w of this.pushWaiters.splice(0)) w.reject(new XrelayClientError('closed', 'connection closed'));
      const reason = refusal ?? closeReason;
      const willReconnect = !this.stopped && !FATAL.has(reason);
      this.emit('close', { code, reason, willReconnect });
      if (willReconnect) this.scheduleReconnect();
    };
    try {
      ws = currentRuntime().openSocket(
        url,
        {
          open: () => undefined,
          message: (data) => (typeof data === 'string' ? this.onText(ws!, data, (c) => (refusal = c)) : this.onEnvelope(data)),
          error: (message) => this.emit('problem', { code: 'network', message }),
          close: onClose,
        },
        this.opts.wsOptions,
      );
    } catch (err) {
      // a malformed URL or no WebSocket on this platform: nothing to retry
      this.emit('problem', { code: err instanceof XrelayClientError ? err.code : 'bad_request', message: (err as Error).message });
      this.emit('close', { code: 0, reason: 'unsupported', willReconnect: false });
      return;
    }
    this.ws = ws;
  }

  private answer(ws: SocketPort, challengeText: unknown): void {
    const challenge = decodeB64url(challengeText, CHALLENGE_BYTES);
    if (challenge === undefined) return void ws.close(1002);
    const { keys } = this.opts;
    const signature = sodiumOrThrow().crypto_sign_detached(authMessage(challenge, keys.mailboxId), keys.secretKey);
    ws.send(JSON.stringify({ type: 'auth', mailbox: encodeB64url(keys.mailboxId), publicKey: encodeB64url(keys.publicKey), challenge: encodeB64url(challenge), signature: encodeB64url(signature) }));
  }

  private onEnvelope(frame: Uint8Array): void {
    const env = decodeEnvelopeFrame(frame);
    if (env === undefined) return;
    const id = encodeB64url(env.id);
    const acked = this.seen.get(id);
    if (acked !== undefined) {
      if (acked) this.ack([id]); // our earlier ack was lost: repeat it, do not deliver twice
      return;
    }
    this.seen.set(id, false);
    const window = this.opts.dedupeWindow ?? 10_000;
    while (this.seen.size > window) this.seen.delete(this.seen.keys().next().value!);
    this.emit('envelope', { id, body: env.body.slice() });
    if (this.opts.autoAck === true) this.ack([id]);
  }

  private flushAcks(): void {
    if (!this.readyNow || this.pendingAcks.length === 0) return;
    for (let i = 0; i < this.pendingAcks.length; i += 1024) {
      this.ws!.send(JSON.stringify({ type: 'ack', ids: this.pendingAcks.slice(i, i + 1024) }));
    }
    this.pendingAcks = [];
  }

  private scheduleReconnect(): void {
    const max = this.opts.reconnectMaxMs ?? 30_000;
    const delay = this.backoffMs * (0.5 + Math.random() / 2);
    this.backoffMs = Math.min(this.backoffMs * 2, max);
    this.reconnectTimer = setTimeout(() => !this.stopped && this.open(), delay);
  }
}
