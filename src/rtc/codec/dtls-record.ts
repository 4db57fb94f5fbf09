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
 *   23 application_data). The edge's DTLS (werift) speaks DTLS 1.2 without heartbeats (RFC 6520's
 *   type 24, never negotiated; werift would take one for an alert), connection ids (RFC 9146's
 *   type 25) or DTLS 1.3's unified header (RFC 9147 §4, first byte 0b001xxxxx): none can be for it.
 * - What is in clear: records of epoch 0 (RFC 6347 §4.1: the epoch moves to 1 with
 *   ChangeCipherSpec; from then on every record but a retransmitted ChangeCipherSpec is
 *   protected). Alert bodies: level 1 (warning) or 2 (fatal), then a description (RFC 5246 §7.2).
 */

const RECORD_HEADER = 13;
const MAX_RECORD = 16_384 + 2048;

/** Not one or more whole DTLS 1.0/1.2 records. */
export const DTLS_MALFORMED = -1;
/** A record of epoch 0 (in clear) other than ChangeCipherSpec: only a handshake in progress sends one. */
export const DTLS_CLEAR_RECORD = 1;
/**
 * An alert record whose first two bytes read as a plaintext alert (level 1 or 2) at any epoch:
 * werift 0.24.4 reads an alert's first two bytes in clear before it decrypts, and closes the DTLS
 * transport on a warning (then sends nothing more on it). A protected alert from a browser starts
 * with its explicit nonce, the record's epoch and sequence (0x00 0x01 for epoch 1).
 */
export const DTLS_CLEAR_ALERT = 2;

/**
 * Reads the record framing of a datagram: DTLS_MALFORMED, or 0 / the DTLS_CLEAR_* bits of what it
 * holds in clear (the caller drops those once the session's handshake is done).
 */
export function readDtlsRecords(b: Uint8Array): number {
  const n = b.length;
  let at = 0;
  let clear = 0;
  if (n === 0) return DTLS_MALFORMED;
  while (at < n) {
    if (at + RECORD_HEADER > n) return DTLS_MALFORMED;
    const type = b[at]!;
    if (type < 20 || type > 23) return DTLS_MALFORMED;
    if (b[at + 1] !== 254 || (b[at + 2] !== 253 && b[at + 2] !== 255)) return DTLS_MALFORMED;
    const len = (b[at + 11]! << 8) | b[at + 12]!;
    if (len > MAX_RECORD) return DTLS_MALFORMED;
    const body = at + RECORD_HEADER;
    if (b[at + 3] === 0 && b[at + 4] === 0 && type !== 20) clear |= DTLS_CLEAR_RECORD;
    if (type === 21 && len >= 2 && body + 2 <= n && (b[body] === 1 || b[body] === 2)) clear |= DTLS_CLEAR_ALERT;
    at = body + len;
  }
  return at === n ? clear : DTLS_MALFORMED;
}
