/**
 * Anonymous posting over the `/v1/post` WebSocket, for clients that keep a socket open instead of
 * making one HTTP request per envelope. Same rules and codes as the HTTP endpoint. It is a separate
 * socket from the reader's on purpose: posting on an authenticated reader socket would tell the
 * relay which mailbox owner sends to which mailbox, the very graph it must not hold.
 */
import type { WebSocket } from 'ws';
import { RelayError } from '../errors.js';
import type { MailboxService } from './mailbox-service.js';
import { POST_HEADER_BYTES, closeCodeFor, encodeB64url } from './protocol.js';

export function servePostSocket(ws: WebSocket, service: MailboxService, clientKey: string): void {
  ws.on('message', (data: Buffer, isBinary) => {
    if (!isBinary || data.length < POST_HEADER_BYTES) {
      const err = service.refusal('bad_frame', 'expected a binary frame: tag(4) || mailbox(32) || envelope');
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(errorMessage(err)));
      ws.close(closeCodeFor(400), 'bad_frame');
      return;
    }
    const tag = data.readUInt32BE(0);
    const mailbox = data.subarray(4, POST_HEADER_BYTES);
    const body = data.subarray(POST_HEADER_BYTES);
    const answer = (msg: Record<string, unknown>): void => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ ...msg, tag }));
    };
    try {
      service.checkRate(clientKey);
    } catch (err) {
      return answer(errorMessage(err));
    }
    service.post(mailbox, body).then(
      (id) => answer({ type: 'posted', id: encodeB64url(id) }),
      (err: unknown) => answer(errorMessage(err)),
    );
  });
}

function errorMessage(err: unknown): Record<string, unknown> {
  const e = err instanceof RelayError ? err : new RelayError('internal', 'internal error');
  const out: Record<string, unknown> = { type: 'error', code: e.code, message: e.message };
  if (e.retryAfterSec !== undefined) out.retryAfter = Math.max(1, Math.ceil(e.retryAfterSec));
  return out;
}
