/**
 * RFC 8656 section 12.5 and RFC 8489 section 6.2.2: framing STUN messages and ChannelData over a
 * byte stream (TCP, TLS). A STUN message is 20 + its length field; a ChannelData message is 4 + its
 * length, rounded up to a multiple of 4. Anything else on the stream is a framing error.
 */
import { HEADER_LENGTH } from './constants.js';

export const FrameResult = { ok: 0, needMore: 1, invalid: 2 } as const;

const EMPTY = Buffer.alloc(0);

/** Splits a TCP byte stream into whole messages; `maxMessage` bounds what it will buffer. */
export class StreamFramer {
  private pending: Buffer = EMPTY;

  constructor(private readonly maxMessage = 65_535 + HEADER_LENGTH) {}

  /**
   * Appends a chunk, then calls `onMessage` for every complete message (each a view that stays
   * valid). Returns `FrameResult.invalid` when the stream cannot be STUN/ChannelData.
   */
  push(chunk: Buffer, onMessage: (msg: Buffer) => void): number {
    let buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let pos = 0;
    while (buf.length - pos >= 4) {
      const first = buf[pos]!;
      let size: number;
      if ((first & 0xc0) === 0) {
        size = HEADER_LENGTH + buf.readUInt16BE(pos + 2);
      } else if ((first & 0xc0) === 0x40) {
        size = (4 + buf.readUInt16BE(pos + 2) + 3) & ~3;
      } else {
        this.pending = EMPTY;
        return FrameResult.invalid;
      }
      if (size > this.maxMessage) {
        this.pending = EMPTY;
        return FrameResult.invalid;
      }
      if (buf.length - pos < size) break;
      onMessage(buf.subarray(pos, pos + size));
      pos += size;
    }
    this.pending = pos === buf.length ? EMPTY : Buffer.from(buf.subarray(pos));
    buf = EMPTY;
    return this.pending.length === 0 ? FrameResult.ok : FrameResult.needMore;
  }

  /** Bytes buffered waiting for the rest of a message. */
  get buffered(): number {
    return this.pending.length;
  }
}
