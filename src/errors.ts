/**
 * One error type for the whole relay, with a stable `code` from one table.
 * HTTP answers and WebSocket close/error frames carry the same codes; tests assert on codes,
 * never on messages. Every code here is documented in the README's error table.
 */
export const ERROR_CODES = {
  // envelope plane
  bad_mailbox: 400,
  bad_request: 400,
  not_found: 404,
  method_not_allowed: 405,
  size_not_allowed: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  mailbox_full: 507,
  store_unavailable: 503,
  // start-up: the Redis store's Redis would acknowledge writes before they are on disk (the CLI exits)
  store_not_durable: 503,
  // mailbox reader authentication (WebSocket)
  bad_frame: 400,
  auth_required: 401,
  bad_signature: 401,
  bad_key: 401,
  bad_challenge: 401,
  challenge_reused: 401,
  unknown_provider: 400,
  push_targets_full: 507,
  auth_timeout: 408,
  // envelope sockets (post and reader WebSockets): resource bounds
  too_many_sockets: 429,
  idle_timeout: 408,
  slow_consumer: 408,
  reader_replaced: 409,
  // media plane joins
  bad_join: 400,
  unknown_profile: 400,
  room_full: 409,
  profile_mismatch: 409,
  too_many_sessions: 503,
  // cluster mode: the room lives on another node (the body names its base URL: `relay`); this node is draining
  room_elsewhere: 409,
  node_draining: 503,
  // WebRTC edge offers (docs/RTC.md)
  bad_sdp: 400,
  // start-up: another relay holds the data dir (the CLI exits 2)
  data_dir_locked: 503,
  // HTTP requests, whatever the route
  request_timeout: 408,
  headers_too_large: 431,
  // generic
  forbidden: 403,
  shutting_down: 503,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class RelayError extends Error {
  override readonly name = 'RelayError';
  readonly status: number;
  /** Seconds a client should wait before retrying (429/503), sent as Retry-After. */
  readonly retryAfterSec: number | undefined;

  constructor(
    readonly code: ErrorCode,
    message: string,
    opts: { retryAfterSec?: number } = {},
  ) {
    super(message);
    this.status = ERROR_CODES[code];
    this.retryAfterSec = opts.retryAfterSec;
  }

  toJSON(): { error: { code: ErrorCode; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

export function isRelayError(err: unknown): err is RelayError {
  return err instanceof RelayError;
}
