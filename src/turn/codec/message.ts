/**
 * RFC 8489 section 5 (header) and section 14 (attribute TLVs, 32-bit padding): the STUN decoder.
 * It indexes a message in place into a reusable `StunMessage` (no per-attribute objects), returns a
 * `DecodeResult` code instead of throwing, and applies the ordering rules of sections 14.5-14.7:
 * after MESSAGE-INTEGRITY only MESSAGE-INTEGRITY-SHA256 and FINGERPRINT count, after FINGERPRINT nothing.
 */
import { Attr, HEADER_LENGTH, MAGIC_COOKIE, isComprehensionRequired } from './constants.js';
import { classOf, methodOf } from './header.js';

export const DecodeResult = {
  ok: 0,
  tooShort: 1,
  notStun: 2,
  badCookie: 3,
  badLength: 4,
  badAttribute: 5,
  tooManyAttributes: 6,
} as const;
export type DecodeResultValue = (typeof DecodeResult)[keyof typeof DecodeResult];

/** More than this many attributes in one message is refused: no real client sends it. */
const MAX_ATTRIBUTES = 32;

const EMPTY = Buffer.alloc(0);

/** A decoded view over a message's bytes. Reuse one instance per socket loop; it holds no copies. */
export class StunMessage {
  buf: Buffer = EMPTY;
  /** Total message bytes (20 + header length); a datagram may carry trailing bytes beyond it. */
  length = 0;
  type = 0;
  method = 0;
  cls = 0;
  count = 0;
  readonly types = new Uint16Array(MAX_ATTRIBUTES);
  /** Offset of each attribute's value (its TLV header is 4 bytes before). */
  readonly offsets = new Uint32Array(MAX_ATTRIBUTES);
  readonly lengths = new Uint16Array(MAX_ATTRIBUTES);
  /** Offsets of the attribute headers, or -1. */
  integrityAt = -1;
  integritySha256At = -1;
  fingerprintAt = -1;

  /** Index of the first attribute of `type`, or -1. */
  find(type: number): number {
    for (let i = 0; i < this.count; i++) if (this.types[i] === type) return i;
    return -1;
  }

  has(type: number): boolean {
    return this.find(type) >= 0;
  }

  /** The value of attribute index `i` (a view, not a copy). */
  valueAt(i: number): Buffer {
    const off = this.offsets[i]!;
    return this.buf.subarray(off, off + this.lengths[i]!);
  }

  /** The value of the first attribute of `type`, or undefined. */
  value(type: number): Buffer | undefined {
    const i = this.find(type);
    return i < 0 ? undefined : this.valueAt(i);
  }

  /** A UTF-8 attribute (USERNAME, REALM, NONCE, SOFTWARE) as a string, or undefined. */
  string(type: number): string | undefined {
    const i = this.find(type);
    if (i < 0) return undefined;
    const off = this.offsets[i]!;
    return this.buf.toString('utf8', off, off + this.lengths[i]!);
  }

  /** The 12-byte transaction id (a view). */
  transactionId(): Buffer {
    return this.buf.subarray(8, HEADER_LENGTH);
  }

  /** Collects comprehension-required attribute types not in `known` (for 420 UNKNOWN-ATTRIBUTES). */
  unknownRequired(known: ReadonlySet<number>): number[] {
    let out: number[] | undefined;
    for (let i = 0; i < this.count; i++) {
      const t = this.types[i]!;
      if (isComprehensionRequired(t) && !known.has(t)) (out ??= []).push(t);
    }
    return out ?? NONE;
  }
}

const NONE: number[] = [];

/**
 * Decodes `buf` into `out`. Checks framing only (bits, cookie, lengths, TLV bounds); integrity and
 * fingerprint are checked by their own modules since they need keys or cost CPU.
 */
export function decodeStun(buf: Buffer, out: StunMessage): DecodeResultValue {
  out.count = 0;
  out.integrityAt = -1;
  out.integritySha256At = -1;
  out.fingerprintAt = -1;
  const n = buf.length;
  if (n < HEADER_LENGTH) return DecodeResult.tooShort;
  if ((buf[0]! & 0xc0) !== 0) return DecodeResult.notStun;
  if (buf.readUInt32BE(4) !== MAGIC_COOKIE) return DecodeResult.badCookie;
  const bodyLength = buf.readUInt16BE(2);
  if ((bodyLength & 3) !== 0 || HEADER_LENGTH + bodyLength > n) return DecodeResult.badLength;
  const end = HEADER_LENGTH + bodyLength;
  out.buf = buf;
  out.length = end;
  out.type = buf.readUInt16BE(0);
  out.method = methodOf(out.type);
  out.cls = classOf(out.type);
  let pos = HEADER_LENGTH;
  // 0: normal, 1: after MESSAGE-INTEGRITY, 2: after MESSAGE-INTEGRITY-SHA256, 3: after FINGERPRINT
  let stage = 0;
  while (pos < end) {
    if (pos + 4 > end) return DecodeResult.badAttribute;
    const type = buf.readUInt16BE(pos);
    const len = buf.readUInt16BE(pos + 2);
    const valueAt = pos + 4;
    const next = valueAt + ((len + 3) & ~3);
    if (next > end) return DecodeResult.badAttribute;
    if (stage < 3) {
      let keep = stage === 0;
      if (type === Attr.messageIntegrity && stage === 0) {
        if (len !== 20) return DecodeResult.badAttribute;
        out.integrityAt = pos;
        stage = 1;
        keep = true;
      } else if (type === Attr.messageIntegritySha256 && stage <= 1) {
        if (len < 16 || len > 32 || (len & 3) !== 0) return DecodeResult.badAttribute;
        out.integritySha256At = pos;
        stage = 2;
        keep = true;
      } else if (type === Attr.fingerprint) {
        if (len !== 4) return DecodeResult.badAttribute;
        out.fingerprintAt = pos;
        stage = 3;
        keep = true;
      }
      if (keep) {
        if (out.count === MAX_ATTRIBUTES) return DecodeResult.tooManyAttributes;
        out.types[out.count] = type;
        out.offsets[out.count] = valueAt;
        out.lengths[out.count] = len;
        out.count++;
      }
    }
    pos = next;
  }
  return DecodeResult.ok;
}
