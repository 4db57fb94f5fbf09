/**
 * Cell body (the AEAD plaintext), docs/PROTOCOL.md §4:
 *
 *   | count u8 | count × ( slot u16BE | len u16BE | len bytes ) | zero bytes to the body size |
 *
 * count 0 is a dummy. Every byte after the last record must be zero, and every record carries at
 * least one byte, so one body has exactly one valid reading (the native decoder must agree byte
 * for byte). Uplink records carry slot 0 for media (the relay stamps the sender's real slot) or
 * CONTROL_SLOT for a control message; downlink records carry the sender's slot, or CONTROL_SLOT for
 * the relay's roster.
 *
 * Pure: imports nothing of ours. Parsing fills parallel integer arrays (no objects per record).
 */
import { BODY_PREFIX_BYTES, MAX_RECORDS, RECORD_HEADER_BYTES } from './cell-layout.js';

export const BODY_OK = 0;
export const BODY_MALFORMED = 1;

/** Where the records of one parsed body are: offsets and lengths into the body. */
export class RecordRefs {
  count = 0;
  readonly slots = new Uint16Array(MAX_RECORDS);
  readonly offsets = new Uint32Array(MAX_RECORDS);
  readonly lengths = new Uint32Array(MAX_RECORDS);
}

/** Parses `body` into `out`; returns BODY_OK or BODY_MALFORMED. Never throws. */
export function parseBody(body: Uint8Array, out: RecordRefs): number {
  out.count = 0;
  const size = body.length;
  if (size < BODY_PREFIX_BYTES) return BODY_MALFORMED;
  const count = body[0]!;
  let off = BODY_PREFIX_BYTES;
  for (let i = 0; i < count; i++) {
    if (off + RECORD_HEADER_BYTES > size) return BODY_MALFORMED;
    const slot = (body[off]! << 8) | body[off + 1]!;
    const len = (body[off + 2]! << 8) | body[off + 3]!;
    off += RECORD_HEADER_BYTES;
    if (len === 0 || off + len > size) return BODY_MALFORMED;
    out.slots[i] = slot;
    out.offsets[i] = off;
    out.lengths[i] = len;
    off += len;
  }
  for (let i = off; i < size; i++) if (body[i] !== 0) return BODY_MALFORMED;
  out.count = count;
  return BODY_OK;
}

/** Packs records into a fixed-size body buffer, in order, while they fit. */
export class BodyWriter {
  private body: Uint8Array = new Uint8Array(0);
  private off = 0;
  private count = 0;

  /** Starts a new body in `body` (its whole length is the body size). */
  reset(body: Uint8Array): void {
    this.body = body;
    this.off = BODY_PREFIX_BYTES;
    this.count = 0;
  }

  /** True if a record of `len` payload bytes still fits. */
  fits(len: number): boolean {
    return this.count < MAX_RECORDS && len > 0 && this.off + RECORD_HEADER_BYTES + len <= this.body.length;
  }

  /** Appends a record if it fits; returns whether it did. */
  add(slot: number, payload: Uint8Array, start = 0, len = payload.length - start): boolean {
    if (!this.fits(len)) return false;
    const b = this.body;
    let o = this.off;
    b[o++] = slot >>> 8;
    b[o++] = slot & 0xff;
    b[o++] = len >>> 8;
    b[o++] = len & 0xff;
    b.set(payload.subarray(start, start + len), o);
    this.off = o + len;
    this.count++;
    return true;
  }

  get records(): number {
    return this.count;
  }

  /** Writes the count and zeroes the rest of the body; returns the number of records. */
  finish(): number {
    this.body[0] = this.count;
    this.body.fill(0, this.off);
    return this.count;
  }
}
