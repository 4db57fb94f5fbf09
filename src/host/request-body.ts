/**
 * Request bodies with bounds. `readBody` collects at most `maxBytes` (chunked or not) and refuses
 * past it with the caller's error, without destroying the connection, so the answer (413) reaches
 * the client. `boundDiscard` is what the router does once any answer is sent before the body was
 * read to its end: the rest is read and dropped, up to `maxDiscardBytes`, then the connection is
 * closed. A body that stalls is cut by `http.requestTimeoutMs` (Node's request timeout).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RelayError } from '../errors.js';

/**
 * The body, or a rejection: `tooLarge()` past `maxBytes` (declared or streamed), `bad_request`
 * if the connection ends before the body does. After a refusal the stream keeps flowing to no
 * one, so the bytes are dropped; the router bounds how many.
 */
export function readBody(req: IncomingMessage, maxBytes: number, tooLarge: () => RelayError): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBytes) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const onData = (chunk: Buffer): void => {
      length += chunk.length;
      if (length > maxBytes) {
        stop();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      stop();
      resolve(Buffer.concat(chunks, length));
    };
    const onGone = (): void => {
      stop();
      reject(new RelayError('bad_request', 'the request body ended early'));
    };
    const stop = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onGone);
      req.off('close', onGone);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onGone);
    req.on('close', onGone);
  });
}

/** Before an answer: close the connection after it if the declared rest of the body is more than we will discard. */
export function closeIfBodyTooLong(req: IncomingMessage, res: ServerResponse, maxDiscardBytes: number): void {
  if (req.complete || res.headersSent) return;
  const declared = Number(req.headers['content-length'] ?? NaN);
  const chunked = req.headers['transfer-encoding'] !== undefined;
  if ((Number.isFinite(declared) && declared > maxDiscardBytes) || (chunked && maxDiscardBytes === 0)) res.setHeader('connection', 'close');
}

/**
 * After the answer: if the request body is still arriving, drop up to `maxDiscardBytes` more of it;
 * past that, call `onOverflow` and destroy the connection.
 */
export function boundDiscard(req: IncomingMessage, maxDiscardBytes: number, onOverflow: () => void): void {
  if (req.complete || req.destroyed) return;
  let discarded = 0;
  const onData = (chunk: Buffer): void => {
    discarded += chunk.length;
    if (discarded > maxDiscardBytes) {
      req.off('data', onData);
      onOverflow();
      req.socket.destroy();
    }
  };
  req.on('data', onData);
  req.once('end', () => req.off('data', onData));
  req.resume();
}
