/**
 * Reading a mailbox: connect, prove the key, receive envelopes (stored ones oldest first, then live
 * ones), acknowledge them, reconnect with backoff when the connection drops. Delivery is
 * at-least-once: an envelope whose ack did not reach the relay comes again on the next connection;
 * this reader drops such duplicates by id (re-acknowledging those the app already acknowledged).
 */
import { EventEmitter } from 'node:events';
import sodium from 'libsodium-wrappers';
import { WebSocket, type ClientOptions } from 'ws';
import type { ErrorCode } from '../../errors.js';
import { CHALLENGE_BYTES, READER_PATH, authMessage, decodeB64url, decodeEnvelopeFrame, encodeB64url } from '../../envelope/protocol.js';
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
  wsOptions?: ClientOptions;
}

export interface ReceivedEnvelope {
  id: string;
  body: Uint8Array;
}

export type ReaderEvents = {
  ready: [];
  envelope: [ReceivedEnvelope];
  /** A refusal from the relay (`code` from the error table) or a transport error. Not named
   *  `error` so that an app without a listener is not crashed by Node's EventEmitter rule. */
  problem: [{ code: ErrorCode | 'network'; message: string }];
  close: [{ code: number; reason: string; willReconnect: boolean }];
};

/** Refusals that retrying cannot fix. */
/** Closes that reconnecting cannot fix. `reader_replaced`: a newer reader of this key took the place (reconnecting would evict it in turn). */
const FATAL: ReadonlySet<string> = new Set(['bad_key', 'bad_signature', 'bad_mailbox', 'bad_frame', 'reader_replaced']);

export class MailboxReader extends EventEmitter<ReaderEvents> {
  private ws: WebSocket | undefined;
  private readyNow = false;
  private stopped = false;
  private backoffMs: number;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly seen = new Map<string, boolean>(); // id -> acknowledged by the app
  private pendingAcks: string[] = [];
  private pushWaiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];

  constructor(private readonly opts: ReaderOptions) {
    super();
    this.backoffMs = opts.reconnectMinMs ?? 250;
  }

  get connected(): boolean {
    return this.readyNow;
  }

  /** Connects and resolves once authenticated; later drops reconnect by themselves. */
  async connect(): Promise<void> {
    await sodium.ready;
    this.stopped = false;
    return new Promise((resolve, reject) => {
      const onReady = (): void => {
        this.off('close', onClose);
        resolve();
      };
      const onClose = (c: { code: number; reason: string; willReconnect: boolean }): void => {
        if (c.willReconnect) return;
        this.off('ready', onReady);
        reject(new Error(`mailbox connection refused: ${c.reason || c.code}`));
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
    if (!this.readyNow) return Promise.reject(new Error('not connected'));
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

  private open(): void {
    const url = this.opts.relayUrl.replace(/^http/, 'ws').replace(/\/$/, '') + READER_PATH;
    const ws = new WebSocket(url, this.opts.wsOptions);
    this.ws = ws;
    let refusal: string | undefined;
    ws.on('message', (data, isBinary) => {
      if (isBinary) return this.onEnvelope(data as Buffer);
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(String(data)) as Record<string, unknown>;
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
        const code = String(msg.code) as ErrorCode;
        if (code === 'unknown_provider') this.pushWaiters.shift()?.reject(new Error(`${code}: ${String(msg.message)}`));
        else refusal = code;
        this.emit('problem', { code, message: String(msg.message) });
      }
    });
    ws.on('error', (err) => this.emit('problem', { code: 'network', message: err.message }));
    ws.on('close', (code, reasonBuf) => {
      this.readyNow = false;
      for (const w of this.pushWaiters.splice(0)) w.reject(new Error('connection closed'));
      const reason = refusal ?? reasonBuf.toString();
      const willReconnect = !this.stopped && !FATAL.has(reason);
      this.emit('close', { code, reason, willReconnect });
      if (willReconnect) this.scheduleReconnect();
    });
  }

  private answer(ws: WebSocket, challengeText: unknown): void {
    const challenge = decodeB64url(challengeText, CHALLENGE_BYTES);
    if (challenge === undefined) return void ws.close(1002);
    const { keys } = this.opts;
    const signature = sodium.crypto_sign_detached(authMessage(challenge, keys.mailboxId), keys.secretKey);
    ws.send(JSON.stringify({ type: 'auth', mailbox: encodeB64url(keys.mailboxId), publicKey: encodeB64url(keys.publicKey), challenge: encodeB64url(challenge), signature: encodeB64url(signature) }));
  }

  private onEnvelope(frame: Buffer): void {
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
    this.emit('envelope', { id, body: new Uint8Array(env.body) });
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
