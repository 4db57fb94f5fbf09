/** `POST /v1/mailboxes/{mailbox}/envelopes`: anonymous, no sender field, 202 only once durable. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from '../server/http-router.js';
import type { ClientAddressOf } from '../limits/client-address.js';
import type { HttpMount } from '../server/plane.js';
import type { MailboxService } from './mailbox-service.js';
import { MAILBOX_ID_BYTES, decodeB64url, encodeB64url } from './protocol.js';

export const POST_ENVELOPE_ROUTE = /^\/v1\/mailboxes\/([^/]*)\/envelopes$/;

/** `clientKey`: the rate-limit bucket of a request (its client address, IPv6 by /64). */
export function mountEnvelopeRoutes(http: HttpMount, service: MailboxService, maxBodyBytes: number, clientKey: ClientAddressOf): void {
  http.route('POST', POST_ENVELOPE_ROUTE, async (req, res, params) => {
    const mailbox = decodeB64url(params[0], MAILBOX_ID_BYTES);
    try {
      if (mailbox === undefined) service.reject('bad_mailbox', 'the mailbox must be 32 bytes in unpadded base64url');
      service.checkRate(clientKey(req));
      const declared = req.headers['content-length'];
      if (declared !== undefined) service.checkSize(Number(declared));
    } catch (err) {
      discardBody(req, res);
      throw err;
    }
    const body = await readBody(req, maxBodyBytes, service);
    const id = await service.post(mailbox!, body);
    sendJson(res, 202, { id: encodeB64url(id) });
  });
}


async function readBody(req: IncomingMessage, max: number, service: MailboxService): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > max) {
      req.destroy();
      service.reject('size_not_allowed', `envelope larger than the largest bucket (${max} bytes)`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, length);
}

/** After an early refusal: small bodies are drained so keep-alive works; large ones close the connection. */
function discardBody(req: IncomingMessage, res: ServerResponse): void {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared <= 1_048_576) {
    req.resume();
    return;
  }
  res.setHeader('connection', 'close');
  res.on('finish', () => req.destroy());
}
