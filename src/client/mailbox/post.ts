/**
 * Posting envelopes: anonymous (no key, no sender field), over HTTP or a long-lived `/v1/post` socket.
 * A 202 means durably stored. 429 and 503 mean "not stored, try later" and are retried (honouring
 * Retry-After). A network error (`network`) is ambiguous (the relay may have stored it before the
 * answer was lost), so it is not retried here: put your own message id inside the sealed envelope
 * if you retry, and let the recipient drop duplicates.
 */
import { POST_PATH, encodeB64url, encodePostFrame } from '../../wire/envelope-protocol.js';
import { XrelayClientError, errorFromResponse, fetchRelay, type ClientErrorCode } from '../client-error.js';
import { relayHttpUrl, relayWsUrl } from '../relay-url.js';
import { currentRuntime, type NodeSocketOptions, type SocketPort } from '../runtime.js';

export interface PostOptions {
  /** Retries after 429/503 (never after an ambiguous network error). Default 2. */
  retries?: number;
  /** Cap on one wait between retries, in ms. Default 10 000. */
  maxRetryWaitMs?: number;
}

export async function postEnvelope(relayUrl: string, mailboxId: Uint8Array, body: Uint8Array, opts: PostOptions = {}): Promise<{ id: string }> {
  const url = relayHttpUrl(relayUrl, `v1/mailboxes/${encodeB64url(mailboxId)}/envelopes`);
  for (let attempt = 0; ; attempt++) {
    const res = await fetchRelay(url, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body }, 'post');
    if (res.status === 202) {
      const answer = (await res.json().catch(() => ({}))) as { id?: unknown };
      if (typeof answer.id === 'string') return { id: answer.id };
    }
    const err = await errorFromResponse(res, 'post refused');
    if ((res.status !== 429 && res.status !== 503) || attempt >= (opts.retries ?? 2)) throw err;
    const waitMs = Math.min((err.retryAfterSec ?? 2 ** attempt) * 1000, opts.maxRetryWaitMs ?? 10_000);
    await new Promise((r) => setTimeout(r, waitMs));
  }
}

/** A long-lived anonymous posting socket: many envelopes, one connection, answers matched by tag. */
export class PostSocket {
  private nextTag = 1;
  private readonly pending = new Map<number, { resolve: (id: string) => void; reject: (e: XrelayClientError) => void }>();
  private sock: SocketPort | undefined;

  private constructor() {}

  /** Opens `/v1/post` under the relay URL (its path prefix kept); `network` if it cannot. */
  static open(relayUrl: string, wsOptions: NodeSocketOptions = {}): Promise<PostSocket> {
    const ps = new PostSocket();
    return new Promise((resolve, reject) => {
      let opened = false;
      ps.sock = currentRuntime().openSocket(
        relayWsUrl(relayUrl, POST_PATH),
        {
          open: () => {
            opened = true;
            resolve(ps);
          },
          message: (data) => {
            if (typeof data === 'string') ps.onAnswer(data);
          },
          error: (message) => {
            if (!opened) reject(new XrelayClientError('network', `post socket: ${message}`));
          },
          close: (code) => {
            if (!opened) reject(new XrelayClientError('network', `post socket closed before it opened (${code})`));
            for (const p of ps.pending.values()) p.reject(new XrelayClientError('network', 'post socket closed before an answer'));
            ps.pending.clear();
          },
        },
        wsOptions,
      );
    });
  }

  post(mailboxId: Uint8Array, body: Uint8Array): Promise<string> {
    const tag = this.nextTag;
    this.nextTag = (this.nextTag + 1) >>> 0 || 1;
    if (this.sock?.isOpen !== true) return Promise.reject(new XrelayClientError('closed', 'the post socket is closed'));
    return new Promise((resolve, reject) => {
      this.pending.set(tag, { resolve, reject });
      this.sock!.send(encodePostFrame(tag, mailboxId, body));
    });
  }

  close(): void {
    this.sock?.close(1000);
  }

  private onAnswer(text: string): void {
    let msg: { type?: string; tag?: number; id?: string; code?: ClientErrorCode; message?: string; retryAfter?: number };
    try {
      msg = JSON.parse(text) as typeof msg;
    } catch {
      return;
    }
    const p = msg.tag === undefined ? undefined : this.pending.get(msg.tag);
    if (p === undefined) return;
    this.pending.delete(msg.tag!);
    if (msg.type === 'posted' && typeof msg.id === 'string') p.resolve(msg.id);
    else p.reject(new XrelayClientError(msg.code ?? 'internal', msg.message ?? 'post refused', { retryAfterSec: msg.retryAfter }));
  }
}
