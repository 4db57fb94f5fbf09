/** `POST /v1/mailboxes/{mailbox}/envelopes`: anonymous, no sender field, 202 only once durable. */
import { sendJson } from '../../host/http-router.js';
import { readBody } from '../../host/request-body.js';
import type { ClientAddressOf } from '../../limits/client-address.js';
import type { HttpMount } from '../../host/plane.js';
import type { MailboxService } from '../core/mailbox-service.js';
import { SocketSlots } from '../../limits/socket-slots.js';
import type { Gauge } from '../../observability/metrics.js';
import { MAILBOX_ID_BYTES, decodeB64url, encodeB64url } from '../../wire/envelope-protocol.js';

const POST_ENVELOPE_ROUTE = /^\/v1\/mailboxes\/([^/]*)\/envelopes$/;

/**
 * `clientKey`: the rate-limit bucket of a request (its client address, IPv6 by /64).
 * `maxInProgressPerAddress`: posts one address may have in progress (body being received or
 * stored) at once; each holds up to `maxBodyBytes` in memory, so this bounds what a client sending
 * bodies slowly can pin. Past it: 429 `rate_limited`, Retry-After 1.
 * A refusal is answered before the body is read; the router then drops the rest of the body
 * (bounded by `http.maxDiscardBytes`), so the client reads its 4xx instead of a reset.
 */
export function mountEnvelopeRoutes(http: HttpMount, service: MailboxService, maxBodyBytes: number, clientKey: ClientAddressOf, maxInProgressPerAddress = Infinity, inProgressGauge?: Gauge): void {
  const inProgress = new SocketSlots(maxInProgressPerAddress);
  http.route('POST', POST_ENVELOPE_ROUTE, async (req, res, params) => {
    const mailbox = decodeB64url(params[0], MAILBOX_ID_BYTES);
    const key = clientKey(req);
    if (mailbox === undefined) service.reject('bad_mailbox', 'the mailbox must be 32 bytes in unpadded base64url');
    service.checkRate(key);
    const declared = req.headers['content-length'];
    if (declared !== undefined) service.checkSize(Number(declared));
    if (!inProgress.tryAcquire(key)) service.reject('rate_limited', 'too many posts in progress from this address (envelope.maxPostsInProgressPerAddress)', 1);
    inProgressGauge?.add(1);
    res.once('close', () => {
      inProgress.release(key); // answered or aborted: 'close' comes once either way
      inProgressGauge?.add(-1);
    });
    const body = await readBody(req, maxBodyBytes, () => service.refusal('size_not_allowed', `envelope larger than the largest bucket (${maxBodyBytes} bytes)`));
    const id = await service.post(mailbox, body);
    sendJson(res, 202, { id: encodeB64url(id) });
  });
}
