/** How envelope sockets refuse: an error message (when the socket is open), then 4000 + status with the code as reason. */
import type { WebSocket } from 'ws';
import { RelayError } from '../../errors.js';
import { closeCodeFor } from '../../wire/envelope-protocol.js';

/** The JSON error message of the post and reader sockets; `retryAfter` for 429/503. */
export function errorMessage(err: unknown): Record<string, unknown> {
  const e = err instanceof RelayError ? err : new RelayError('internal', 'internal error');
  const out: Record<string, unknown> = { type: 'error', code: e.code, message: e.message };
  if (e.retryAfterSec !== undefined) out.retryAfter = Math.max(1, Math.ceil(e.retryAfterSec));
  return out;
}

/**
 * Sends the error and closes. The close frame queues behind whatever the send buffer holds; a
 * client that never reads gets the socket destroyed after the router's close timeout instead.
 */
export function closeWithError(ws: WebSocket, err: RelayError): void {
  if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(errorMessage(err)));
  if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(closeCodeFor(err.status), err.code);
}
