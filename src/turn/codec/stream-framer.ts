/**
 * RFC 8656 section 12.5 and RFC 8489 section 6.2.2: framing STUN messages and ChannelData over a
 * byte stream (TCP, TLS). A STUN message is 20 + its length field; a ChannelData message is 4 + its
 * length, rounded up to a multiple of 4. Anything else on the stream is a framing error.
 *
 * Cost bounds, whatever the sender does: a message cut across chunks is gathered in one buffer that
 * grows by doubling, so a frame trickled in byte by byte costs linear copying (not a re-copy of
 * everything so far per chunk) and holds at most about twice the bytes received, never the size a
 * length header merely claims.
 */
import { HEADER_LENGTH } from './constants.js';

export const FrameResult = { ok: 0, needMore: 1, invalid: 2 } as const;

const EMPTY = Buffer.alloc(0);
/** First allocation for a partial message. */
const MIN_PARTIAL = 256;

/** Size of the message starting at buf[pos] (4 bytes readable), or -1 when it is not STUN/ChannelData. */
function frameSize(buf: Buffer, pos: number): number {
  const first = buf[pos]!;
  if ((first & 0xc0) === 0) return HEADER_LENGTH + buf.readUInt16BE(pos + 2);
  if ((first & 0xc0) === 0x40) return (4 + buf.readUInt16BE(pos + 2) + 3) & ~3;
  return -1;
}

/** Splits a TCP byte stream into whole messages; `maxMessage` bounds what it will buffer. */
export class StreamFramer {
  /** Bytes of a message not yet complete: `filled` of them are valid; `size` is its length (0 while under 4 bytes). */
  private partial: Buffer = EMPTY;
  private filled = 0;
  private size = 0;

  constructor(private readonly maxMessage = 65_535 + HEADER_LENGTH) {}

  /**
   * Appends a chunk, then calls `onMessage` for every complete message (each a view that stays
   * valid). Returns `FrameResult.invalid` when the stream cannot be STUN/ChannelData.
   */
  push(chunk: Buffer, onMessage: (msg: Buffer) => void): number {
    let pos = 0;
    if (this.filled > 0) {
      pos = this.complete(chunk);
      if (pos < 0) return FrameResult.invalid;
      if (this.filled > 0) return FrameResult.needMore;
      if (this.size > 0) {
        const msg = this.partial.subarray(0, this.size);
        this.reset();
        onMessage(msg);
      }
    }
    while (chunk.length - pos >= 4) {
      const size = frameSize(chunk, pos);
      if (size < 0 || size > this.maxMessage) {
        this.reset();
        return FrameResult.invalid;
      }
      if (chunk.length - pos < size) break;
      onMessage(chunk.subarray(pos, pos + size));
      pos += size;
    }
    if (pos === chunk.length) return FrameResult.ok;
    this.size = chunk.length - pos >= 4 ? frameSize(chunk, pos) : 0;
    this.append(chunk, pos, chunk.length);
    return FrameResult.needMore;
  }

  /**
   * Adds to the partial message what it still needs from `chunk`: returns where the rest of the
   * chunk starts (`filled` is 0 when the message completed), or -1 on a framing error.
   */
  private complete(chunk: Buffer): number {
    let pos = 0;
    if (this.size === 0) {
      pos = Math.min(4 - this.filled, chunk.length);
      this.append(chunk, 0, pos);
      if (this.filled < 4) return pos;
      const size = frameSize(this.partial, 0);
      if (size < 0 || size > this.maxMessage) {
        this.reset();
        return -1;
      }
      this.size = size;
    }
    const end = Math.min(chunk.length, pos + this.size - this.filled);
    this.append(chunk, pos, end);
    if (this.filled === this.size) this.filled = 0; // complete: push() hands it out and resets
    return end;
  }

  private append(chunk: Buffer, from: number, to: number): void {
    const need = this.filled + (to - from);
    if (need > this.partial.length) {
      const cap = Math.max(need, Math.min(this.size > 0 ? this.size : MIN_PARTIAL, Math.max(MIN_PARTIAL, this.partial.length * 2)));
      const grown = Buffer.allocUnsafe(cap);
      this.partial.copy(grown, 0, 0, this.filled);
      this.partial = grown;
    }
    chunk.copy(this.partial, this.filled, from, to);
    this.filled = need;
  }

  private reset(): void {
    this.partial = EMPTY;
    this.filled = 0;
    this.size = 0;
  }

  /** Bytes buffered waiting for the rest of a message. */
  get buffered(): number {
    return this.filled;
  }
}
