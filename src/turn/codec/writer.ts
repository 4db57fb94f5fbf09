/**
 * RFC 8489 sections 5 and 14: the STUN encoder. A `StunWriter` appends TLVs (padded to 32 bits with
 * zeros) into one reusable growable buffer, then seals with MESSAGE-INTEGRITY (section 14.5),
 * MESSAGE-INTEGRITY-SHA256 (section 14.6) and FINGERPRINT (section 14.7), in that order.
 */
import { Attr, HEADER_LENGTH, MAGIC_COOKIE } from './constants.js';
import { encodeErrorCode, errorCodeValueLength, reasonFor } from './error-code.js';
import { computeFingerprint } from './fingerprint.js';
import { composeType } from './header.js';
import { computeIntegrity, computeIntegritySha256 } from './integrity.js';
import { addressValueLength, encodeAddress } from './xor-address.js';

export class StunWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initialSize = 1536) {
    this.buf = Buffer.alloc(initialSize);
  }

  /** Starts a message; `tid` is the 12-byte transaction id (copied). */
  begin(method: number, cls: number, tid: Uint8Array): this {
    this.pos = HEADER_LENGTH;
    this.buf.writeUInt16BE(composeType(method, cls), 0);
    this.buf.writeUInt16BE(0, 2);
    this.buf.writeUInt32BE(MAGIC_COOKIE, 4);
    this.buf.set(tid.subarray(0, 12), 8);
    return this;
  }

  private reserve(type: number, length: number): number {
    const padded = (length + 3) & ~3;
    const need = this.pos + 4 + padded;
    if (need - HEADER_LENGTH > 0xffff) throw new RangeError('STUN message too long');
    if (need > this.buf.length) {
      const bigger = Buffer.alloc(Math.max(need, this.buf.length * 2));
      this.buf.copy(bigger, 0, 0, this.pos);
      this.buf = bigger;
    }
    this.buf.writeUInt16BE(type, this.pos);
    this.buf.writeUInt16BE(length, this.pos + 2);
    const at = this.pos + 4;
    this.buf.fill(0, at + length, at + padded);
    this.pos = at + padded;
    return at;
  }

  bytes(type: number, value: Uint8Array): this {
    const at = this.reserve(type, value.length);
    this.buf.set(value, at);
    return this;
  }

  string(type: number, value: string): this {
    const at = this.reserve(type, Buffer.byteLength(value, 'utf8'));
    this.buf.write(value, at, 'utf8');
    return this;
  }

  u32(type: number, value: number): this {
    const at = this.reserve(type, 4);
    this.buf.writeUInt32BE(value >>> 0, at);
    return this;
  }

  /** REQUESTED-TRANSPORT-style: one byte then three reserved zero bytes. */
  byteThenReserved(type: number, value: number): this {
    const at = this.reserve(type, 4);
    this.buf.writeUInt32BE(((value & 0xff) << 24) >>> 0, at);
    return this;
  }

  /** CHANNEL-NUMBER-style: 16 bits then 16 reserved bits. */
  u16ThenReserved(type: number, value: number): this {
    return this.u32(type, (value & 0xffff) * 0x10000);
  }

  /** An XOR address (XOR-MAPPED/PEER/RELAYED-ADDRESS); `xor = false` for MAPPED-ADDRESS. */
  address(type: number, ip: string, port: number, xor = true): this {
    const len = addressValueLength(ip);
    if (len === 0) throw new TypeError('not an IP address');
    const at = this.reserve(type, len);
    encodeAddress(ip, port, this.buf.subarray(8, HEADER_LENGTH), this.buf, at, xor);
    return this;
  }

  errorCode(code: number, reason = reasonFor(code)): this {
    const at = this.reserve(Attr.errorCode, errorCodeValueLength(reason));
    encodeErrorCode(code, reason, this.buf, at);
    return this;
  }

  integrity(key: Uint8Array): this {
    const at = this.reserve(Attr.messageIntegrity, 20) - 4;
    computeIntegrity(this.buf, at, key).copy(this.buf, at + 4);
    return this;
  }

  integritySha256(key: Uint8Array): this {
    const at = this.reserve(Attr.messageIntegritySha256, 32) - 4;
    computeIntegritySha256(this.buf, at, key).copy(this.buf, at + 4);
    return this;
  }

  fingerprint(): this {
    const at = this.reserve(Attr.fingerprint, 4) - 4;
    this.buf.writeUInt32BE(computeFingerprint(this.buf, at), at + 4);
    return this;
  }

  /** The finished message as a fresh Buffer (safe to hand to an asynchronous send). */
  finish(): Buffer {
    this.buf.writeUInt16BE(this.pos - HEADER_LENGTH, 2);
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}
