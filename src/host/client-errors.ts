/**
 * Answers for requests Node's HTTP parser (llhttp) refuses before any route sees them: a bad
 * Content-Length (`-1`, `abc`, `1e20`, two different ones, one beside `Transfer-Encoding: chunked`),
 * a garbage request line, headers over `http.maxHeaderBytes`, a request or its headers not received
 * within `http.requestTimeoutMs` / `http.headersTimeoutMs`. Each gets the relay's JSON error
 * (400 bad_request, 431 headers_too_large, 408 request_timeout) with `connection: close`.
 *
 * Lingering close: after the answer the write side is shut, and whatever the client still sends is
 * read and dropped (up to `maxDiscardBytes`, for at most LINGER_MS) before the socket is destroyed.
 * Destroying a socket with unread input makes the kernel send a reset, which can make the client
 * lose the answer it has not read yet; that is what "an 80 KiB header gets a reset" was.
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { RelayError, type ErrorCode } from '../errors.js';
import type { Counter } from '../observability/metrics.js';

const LINGER_MS = 2_000;

/**
 * The relay's code for a parser (llhttp `HPE_*`) or timeout error; undefined for anything else
 * (ECONNRESET, EPIPE, a TLS handshake that failed or timed out): nobody to answer, destroy.
 */
function clientErrorCode(err: NodeJS.ErrnoException): ErrorCode | undefined {
  const code = err.code ?? '';
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'request_timeout';
  if (code === 'HPE_HEADER_OVERFLOW') return 'headers_too_large';
  return code.startsWith('HPE_') ? 'bad_request' : undefined;
}

const MESSAGES: Partial<Record<ErrorCode, string>> = {
  bad_request: 'the request could not be parsed',
  headers_too_large: 'the request headers are larger than the relay accepts',
  request_timeout: 'the request was not received in time',
};

/** The raw HTTP/1.1 answer for a refusal written straight to the socket (no ServerResponse exists or may be used). */
function rawErrorResponse(code: ErrorCode): string {
  const err = new RelayError(code, MESSAGES[code] ?? code);
  const body = JSON.stringify(err.toJSON());
  return `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? ''}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}

interface HttpSocket extends Duplex {
  /** The response in progress on this connection, if any (Node internal, read only). */
  _httpMessage?: { headersSent?: boolean } | null;
}

/** A `clientError` listener: answer once per socket when that cannot corrupt a response in progress, then linger and close. */
export function clientErrorHandler(maxDiscardBytes: number, refused: Counter): (err: NodeJS.ErrnoException, socket: Duplex) => void {
  const answered = new WeakSet<Duplex>();
  return (err, socket) => {
    // llhttp stays in its error state and reports again for each later chunk: answer the first only.
    if (answered.has(socket)) return;
    answered.add(socket);
    const code = clientErrorCode(err);
    const inFlight = (socket as HttpSocket)._httpMessage;
    if (code === undefined || !socket.writable || inFlight?.headersSent === true) {
      socket.destroy();
      return;
    }
    refused.inc(1, code);
    // From here on the connection is ours: unhook Node's parser, so that a request cut by a timeout
    // cannot complete behind its 408 (and, say, store an envelope the client was told failed).
    socket.removeAllListeners('data');
    socket.end(rawErrorResponse(code));
    lingerThenDestroy(socket, maxDiscardBytes);
  };
}

/** Reads and drops input until the peer closes, `maxBytes` arrive or LINGER_MS pass; then destroys. */
function lingerThenDestroy(socket: Duplex, maxBytes: number): void {
  let discarded = 0;
  const done = (): void => {
    clearTimeout(timer);
    socket.destroy();
  };
  const timer = setTimeout(done, LINGER_MS);
  timer.unref();
  socket.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > maxBytes) done();
  });
  socket.once('end', done);
  socket.once('close', () => clearTimeout(timer));
  socket.resume();
}
