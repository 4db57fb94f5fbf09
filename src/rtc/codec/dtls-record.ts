/**
 * The DTLS record framing check of the WebRTC edge's one UDP port (server/udp-mux.ts): a datagram
 * in the DTLS range (first byte 20..63, RFC 7983 §7) on a session's 5-tuple reaches the session's
 * DTLS layer only when it is a sequence of whole DTLS 1.0/1.2 records. No throw, no allocation.
 *
 * - Record header: RFC 6347 §4.1 (DTLS 1.2: content type, version {254, 253} or {254, 255} for
 *   DTLS 1.0, 16-bit epoch, 48-bit sequence number, 16-bit length; 13 bytes), several records in
 *   one datagram §4.1.1; a record's length is at most 2^14 + 2048 (DTLSCiphertext, §4.1 via
 *   RFC 5246 §6.2.3).
 * - Content types: RFC 5246 §6.2.1 (20 change_cipher_spec, 21 alert, 22 handshake,
 *   23 application_data), RFC 6520 §2 (24 heartbeat). The edge's DTLS (werift) speaks DTLS 1.2
 *   without connection ids (RFC 9146's type 25) and without DTLS 1.3's unified header (RFC 9147
 *   §4, first byte 0b001xxxxx): neither can be for it.
 */

const RECORD_HEADER = 13;
const MAX_RECORD = 16_384 + 2048;

/** True when `b` is one or more whole DTLS 1.0/1.2 records and nothing else. */
export function dtlsRecordsWellFormed(b: Uint8Array): boolean {
  const n = b.length;
  let at = 0;
  if (n === 0) return false;
  while (at < n) {
    if (at + RECORD_HEADER > n) return false;
    const type = b[at]!;
    if (type < 20 || type > 24) return false;
    if (b[at + 1] !== 254 || (b[at + 2] !== 253 && b[at + 2] !== 255)) return false;
    const len = (b[at + 11]! << 8) | b[at + 12]!;
    if (len > MAX_RECORD) return false;
    at += RECORD_HEADER + len;
  }
  return at === n;
}
