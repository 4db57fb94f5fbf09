/**
 * Cell wire layout, version 1 (docs/PROTOCOL.md §3). A cell is one UDP datagram or one binary
 * WebSocket message:
 *
 *   0               4                              12                    12+P         12+P+16
 *   | session u32BE | counter u64BE                 | ciphertext (P bytes) | Poly1305 tag |
 *
 * P is the profile's body size for that direction. The first 12 bytes are also the AEAD nonce
 * (RFC 8439 §2.8: a 96-bit nonce that must never repeat under one key; the key is per session and
 * per direction and the counter only grows, so session||counter never repeats). No AAD is needed:
 * the header is the nonce, so changing any header byte fails authentication.
 *
 * Pure: imports nothing of ours, no I/O, no clock. Integers and byte offsets only, so the native
 * data plane (issue 4) can mirror it field for field.
 */
export const HEADER_BYTES = 12;
export const TAG_BYTES = 16;
/** Per-record header inside a body: u16 sender slot, u16 payload length. */
export const RECORD_HEADER_BYTES = 4;
/** A body starts with one byte: the number of records (0 = a dummy cell). */
export const BODY_PREFIX_BYTES = 1;
/** Most records one body can hold (the count is one byte). */
export const MAX_RECORDS = 255;
/** Slot value of records the relay itself writes (roster) or reads (leave): never a participant. */
export const CONTROL_SLOT = 0xffff;
/** Highest slot a participant may hold. */
export const MAX_PARTICIPANT_SLOT = 0xffef;
/** Highest counter value a sender may use (2^53 - 1: exact in a JS number; 2^48 cells at 1 ms is 8900 years). */
export const MAX_COUNTER = Number.MAX_SAFE_INTEGER;
const TWO_32 = 0x1_0000_0000;

/** Bytes on the wire of a cell whose body is `bodyBytes` long. */
export function wireBytes(bodyBytes: number): number {
  return HEADER_BYTES + bodyBytes + TAG_BYTES;
}

/** Largest single record payload a body of `bodyBytes` can carry. */
export function maxRecordPayload(bodyBytes: number): number {
  return bodyBytes - BODY_PREFIX_BYTES - RECORD_HEADER_BYTES;
}

export function writeHeader(out: Uint8Array, session: number, counter: number): void {
  const dv = new DataView(out.buffer, out.byteOffset, HEADER_BYTES);
  dv.setUint32(0, session >>> 0);
  dv.setUint32(4, Math.floor(counter / TWO_32));
  dv.setUint32(8, counter >>> 0);
}

/** Session index of a cell, or -1 if it cannot hold a header. */
export function readSession(cell: Uint8Array): number {
  if (cell.length < HEADER_BYTES) return -1;
  return ((cell[0]! << 24) | (cell[1]! << 16) | (cell[2]! << 8) | cell[3]!) >>> 0;
}

/** Counter of a cell (caller checked the length), or -1 if above MAX_COUNTER. */
export function readCounter(cell: Uint8Array): number {
  const hi = ((cell[4]! << 24) | (cell[5]! << 16) | (cell[6]! << 8) | cell[7]!) >>> 0;
  const lo = ((cell[8]! << 24) | (cell[9]! << 16) | (cell[10]! << 8) | cell[11]!) >>> 0;
  if (hi > 0x1f_ffff) return -1;
  return hi * TWO_32 + lo;
}
