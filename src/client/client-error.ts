/**
 * The SDK's one error type. `code` is either a code from the relay's table (src/errors.ts, the
 * README's error table: what the relay answered) or one of the client's own codes below (what
 * happened before or instead of an answer). Apps and tests switch on `code`, never on messages.
 */
import type { ErrorCode } from '../errors.js';

/** Codes the SDK raises itself (documented in the README's "Client SDK errors" table). */
export type ClientOnlyCode =
  /** No answer from the relay: refused connection, DNS, TLS, reset, socket closed before an answer. */
  | 'network'
  /** No answer in time (WebSocket handshake, UDP probe while no fallback is allowed). */
  | 'timeout'
  /** A call secret shorter than MIN_CALL_SECRET_BYTES (an empty secret would name a room anyone can guess). */
  | 'bad_secret'
  /** A synchronous API was called before `await ready()`. */
  | 'not_ready'
  /** The transport asked for does not exist here (UDP in a browser), or no runtime was installed. */
  | 'unsupported'
  /** Envelope sealing: the message does not fit the largest size bucket. */
  | 'too_large'
  /** Envelope opening: not sealed to these keys, or altered. */
  | 'cannot_open'
  /** Envelope opening: authentic but not a known layout. */
  | 'malformed'
  /** The client was closed while the request was pending. */
  | 'closed';

export type ClientErrorCode = ErrorCode | ClientOnlyCode;

export class XrelayClientError extends Error {
  override readonly name = 'XrelayClientError';
  /** HTTP status of the relay's answer, 0 when there was none. */
  readonly status: number;
  /** Seconds the relay asked to wait before retrying (429/503 Retry-After). */
  readonly retryAfterSec: number | undefined;

  constructor(
    readonly code: ClientErrorCode,
    message: string,
    opts: { status?: number; retryAfterSec?: number; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.status = opts.status ?? 0;
    this.retryAfterSec = opts.retryAfterSec;
  }
}

/** A relay's JSON error answer (`{"error":{"code","message"}}`) as a client error. */
export async function errorFromResponse(res: Response, what: string): Promise<XrelayClientError> {
  const body = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
  const retryAfter = Number(res.headers.get('retry-after') ?? NaN);
  const code = (typeof body.error?.code === 'string' ? body.error.code : 'internal') as ErrorCode;
  return new XrelayClientError(code, `${what}: ${body.error?.message ?? `HTTP ${res.status}`}`, {
    status: res.status,
    retryAfterSec: Number.isFinite(retryAfter) ? retryAfter : undefined,
  });
}

/** fetch() that turns "no answer" (refused, reset, DNS, TLS: a TypeError in every runtime) into `network`. */
export async function fetchRelay(url: string, init: RequestInit, what: string): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (err) {
    throw new XrelayClientError('network', `${what}: no answer from the relay (${(err as Error).message})`, { cause: err });
  }
}
