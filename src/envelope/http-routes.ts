/** `POST /v1/mailboxes/{mailbox}/envelopes`: anonymous, no sender field, 202 only once durable. */
import { sendJson } from '../server/http-router.js';
import { readBody } from '../server/request-body.js';
import type { ClientAddressOf } from '../limits/client-address.js';
import type { HttpMount } from '../server/plane.js';
import type { MailboxService } from './mailbox-service.js';
import { MAILBOX_ID_BYTES, decodeB64url, encodeB64url } from './protocol.js';

export const POST_ENVELOPE_ROUTE = /^\/v1\/mailboxes\/([^/]*)\/envelopes$/;

/**
 * `clientKey`: the rate-limit bucket of a request (its client address, IPv6 by /64).
 * A refusal is answered before the body is read; the router then drops the rest of the body
 * (bounded by `http.maxDiscardBytes`), so the client reads its 4xx instead of a reset.
 */
export function mountEnvelopeRoutes(http: HttpMount, service: MailboxService, maxBodyBytes: number, clientKey: ClientAddressOf): void {
  http.route('POST', POST_ENVELOPE_ROUTE, async (req, res, params) => {
    const mailbox = decodeB64url(params[0], MAILBOX_ID_BYTES);
    if (mailbox === undefined) service.reject('bad_mailbox', 'the mailbox must be 32 bytes in unpadded base64url');
    service.checkRate(clientKey(req));
    const declared = req.headers['content-length'];
    if (declared !== undefined) service.checkSize(Number(declared));
    const body = await readBody(req, maxBodyBytes, () => service.refusal('size_not_allowed', `envelope larger than the largest bucket (${maxBodyBytes} bytes)`));
    const id = await service.post(mailbox, body);
    sendJson(res, 202, { id: encodeB64url(id) });
  });
}
