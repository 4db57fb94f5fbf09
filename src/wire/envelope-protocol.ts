/**
 * The envelope plane's wire contract, shared by relay and client SDK. Pure: imports only the
 * base64url codec beside it; Uint8Array and web-standard APIs only (it runs in browsers too).
 *
 * Mailbox id: 32 bytes, BLAKE2b-256 of the owner's Ed25519 public key, base64url without padding.
 * Envelope id: 16 bytes, base64url: 6 bytes arrival ms (big-endian), 2 bytes per-ms sequence,
 * 8 random bytes. Ids sort in arrival order, which is the delivery order.
 *
 * Reader WebSocket `/v1/mailbox` (see docs/ENVELOPES.md for the full exchange):
 *   relay  -> text   {"type":"challenge","challenge":B64}
 *   client -> text   {"type":"auth","mailbox":B64,"publicKey":B64,"challenge":B64,"signature":B64}
 *            signature = Ed25519(AUTH_CONTEXT || challenge || mailbox)
 *   relay  -> text   {"type":"ready"}
 *   relay  -> binary 0x01 || id(16) || envelope body          (one stored envelope)
 *   client -> text   {"type":"ack","ids":[B64,...]}
 *   client -> text   {"type":"register_push","provider":"webhook","token":STRING}
 *   relay  -> text   {"type":"push_registered"} | {"type":"error","code":CODE,"message":STRING}
 * Post WebSocket `/v1/post` (anonymous):
 *   client -> binary tag(4, big-endian) || mailbox(32) || envelope body
 *   relay  -> text   {"type":"posted","tag":N,"id":B64} | {"type":"error","tag":N,"code":CODE,"message":STRING}
 * A fatal error closes the socket with code 4000 + HTTP status and the error code as reason.
 */
import { decodeBase64url, encodeBase64url } from './b64url.js';

export const MAILBOX_ID_BYTES = 32;
export const ENVELOPE_ID_BYTES = 16;
export const CHALLENGE_BYTES = 32;
export const PUBLIC_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;
const FRAME_ENVELOPE = 0x01;
export const POST_HEADER_BYTES = 4 + MAILBOX_ID_BYTES;
/** Domain separation: a signature made for this purpose is useless for any other. */
const AUTH_CONTEXT: Uint8Array = new TextEncoder().encode('xentrop-relay/v1 mailbox-auth\0');

export const READER_PATH = '/v1/mailbox';
export const POST_PATH = '/v1/post';

export function closeCodeFor(status: number): number {
  return 4000 + status;
}

/** Strict base64url (no padding) decode; undefined unless it decodes to exactly `bytes` bytes. */
export function decodeB64url(text: unknown, bytes: number): Uint8Array | undefined {
  if (typeof text !== 'string' || text.length !== Math.ceil((bytes * 4) / 3)) return undefined;
  const out = decodeBase64url(text);
  return out !== undefined && out.length === bytes ? out : undefined;
}

export function encodeB64url(bytes: Uint8Array): string {
  return encodeBase64url(bytes);
}

export function authMessage(challenge: Uint8Array, mailbox: Uint8Array): Uint8Array {
  const msg = new Uint8Array(AUTH_CONTEXT.length + challenge.length + mailbox.length);
  msg.set(AUTH_CONTEXT, 0);
  msg.set(challenge, AUTH_CONTEXT.length);
  msg.set(mailbox, AUTH_CONTEXT.length + challenge.length);
  return msg;
}

export function envelopeArrivalMs(id: Uint8Array): number {
  return id[0]! * 2 ** 40 + id[1]! * 2 ** 32 + ((id[2]! << 24) >>> 0) + (id[3]! << 16) + (id[4]! << 8) + id[5]!;
}

export function encodeEnvelopeFrame(id: Uint8Array, body: Uint8Array): Uint8Array {
  const frame = new Uint8Array(1 + ENVELOPE_ID_BYTES + body.length);
  frame[0] = FRAME_ENVELOPE;
  frame.set(id, 1);
  frame.set(body, 1 + ENVELOPE_ID_BYTES);
  return frame;
}

export function decodeEnvelopeFrame(frame: Uint8Array): { id: Uint8Array; body: Uint8Array } | undefined {
  if (frame.length < 1 + ENVELOPE_ID_BYTES || frame[0] !== FRAME_ENVELOPE) return undefined;
  return { id: frame.subarray(1, 1 + ENVELOPE_ID_BYTES), body: frame.subarray(1 + ENVELOPE_ID_BYTES) };
}

export function encodePostFrame(tag: number, mailbox: Uint8Array, body: Uint8Array): Uint8Array {
  const frame = new Uint8Array(POST_HEADER_BYTES + body.length);
  new DataView(frame.buffer).setUint32(0, tag >>> 0);
  frame.set(mailbox, 4);
  frame.set(body, POST_HEADER_BYTES);
  return frame;
}
