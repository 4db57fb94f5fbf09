/**
 * Posting envelopes: anonymous (no key, no sender field), over HTTP or a long-lived `/v1/post` socket.
 * A 202 means durably stored. 429 and 503 mean "not stored, try later" and are retried (honouring
 * Retry-After). A network error is ambiguous (the relay may have stored it before the answer was
 * lost), so it is not retried here: put your own message id inside the sealed envelope if you
 * retry, and let the recipient drop duplicates.
 */
import { WebSocket, type ClientOptions } from 'ws';
import type { ErrorCode } from '../../errors.js';
import { POST_PATH, encodeB64url, encodePostFrame } from '../../envelope/protocol.js';

export class RelayRequestError extends Error {
  override readonly name = 'RelayRequestError';
  constructor(
    readonly code: ErrorCode | 'network',
    message: string,
    readonly status: number,
    readonly retryAfterSec?: number,
  ) {
    super(message);
  }
}

export interface PostOptions {
  /** Retries after 429/503 (never after an ambiguous network error). Default 2. */
  retries?: number;
  /** Cap on one wait between retries, in ms. Default 10 000. */
  maxRetryWaitMs?: number;
}

export async function postEnvelope(relayUrl: string, mailboxId: Uint8Array, body: Uint8Array, opts: PostOptions = {}): Promise<{ id: string }> {
  const url = `${relayUrl.replace(/\/$/, '')}/v1/mailboxes/${encodeB64url(mailboxId)}/envelopes`;
  for (let attempt = 0; ; attempt++) {
    let res: Response;
    try {
      res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body });
    } catch (err) {
      throw new RelayRequestError('network', `post failed before an answer: ${(err as Error).message}`, 0);
    }
    const answer = (await res.json().catch(() => ({}))) as { id?: string; error?: { code: ErrorCode; message: string } };
    if (res.status === 202 && typeof answer.id === 'string') return { id: answer.id };
    const retryAfter = Number(res.headers.get('retry-after') ?? NaN);
    const err = new RelayRequestError(answer.error?.code ?? 'internal', answer.error?.message ?? `HTTP ${res.status}`, res.status, Number.isFinite(retryAfter) ? retryAfter : undefined);
    if ((res.status !== 429 && res.status !== 503) || attempt >= (opts.retries ?? 2)) throw err;
    const waitMs = Math.min((err.retryAfterSec ?? 2 ** attempt) * 1000, opts.maxRetryWaitMs ?? 10_000);
    await new Promise((r) => setTimeout(r, waitMs));
  }
}

/** A long-lived anonymous posting socket: many envelopes, one connection, answers matched by tag. */
export class PostSocket {
  private nextTag = 1;
  private readonly pending = new Map<number, { resolve: (id: string) => void; reject: (e: RelayRequestError) => void }>();

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => {
      let msg: { type?: string; tag?: number; id?: string; code?: ErrorCode; message?: string; retryAfter?: number };
      try {
        msg = JSON.parse(String(data)) as typeof msg;
      } catch {
        return;
      }
      const p = msg.tag === undefined ? undefined : this.pending.get(msg.tag);
      if (p === undefined) return;
      this.pending.delete(msg.tag!);
      if (msg.type === 'posted' && typeof msg.id === 'string') p.resolve(msg.id);
      else p.reject(new RelayRequestError(msg.code ?? 'internal', msg.message ?? 'post refused', 0, msg.retryAfter));
    });
    ws.on('close', () => {
      for (const p of this.pending.values()) p.reject(new RelayRequestError('network', 'post socket closed before an answer', 0));
      this.pending.clear();
    });
  }

  static open(relayUrl: string, wsOptions: ClientOptions = {}): Promise<PostSocket> {
    const ws = new WebSocket(relayUrl.replace(/^http/, 'ws').replace(/\/$/, '') + POST_PATH, wsOptions);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new PostSocket(ws)));
      ws.once('error', (err) => reject(new RelayRequestError('network', err.message, 0)));
    });
  }

  post(mailboxId: Uint8Array, body: Uint8Array): Promise<string> {
    const tag = this.nextTag;
    this.nextTag = (this.nextTag + 1) >>> 0 || 1;
    return new Promise((resolve, reject) => {
      // A post on a socket that is closing or closed would otherwise wait for an answer forever.
      if (this.ws.readyState !== this.ws.OPEN) return reject(new RelayRequestError('network', 'post socket is closed', 0));
      this.pending.set(tag, { resolve, reject });
      this.ws.send(encodePostFrame(tag, mailboxId, body), (err) => {
        if (err === undefined || err === null || !this.pending.delete(tag)) return;
        reject(new RelayRequestError('network', err.message, 0));
      });
    });
  }

  close(): void {
    this.ws.close(1000);
  }
}
