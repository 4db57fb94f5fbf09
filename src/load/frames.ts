/**
 * What the kit puts inside each end-to-end media packet, and the bookkeeping of who got what.
 *
 * Packet (sealed end to end by the SDK, so the relay never sees it):
 *   0..11  an RTP header (v2, PT 111, seq low 16 bits, timestamp, SSRC = the sender's kit id)
 *   12..19 send time, f64 epoch ms (one clock: senders and receivers share this process)
 *   20..23 full sequence number, u32
 *   24..   filler up to the VBR size
 */
import { nowEpochMs } from './leak/tap.js';

export const FRAME_HEADER_BYTES = 24;

export function buildFrame(senderId: number, seq: number, size: number, sentAt: number): Buffer {
  const p = Buffer.alloc(Math.max(FRAME_HEADER_BYTES, size), 0x5a);
  p[0] = 0x80;
  p[1] = 111;
  p.writeUInt16BE(seq & 0xffff, 2);
  p.writeUInt32BE((seq * 960) >>> 0, 4);
  p.writeUInt32BE(senderId >>> 0, 8);
  p.writeDoubleBE(sentAt, 12);
  p.writeUInt32BE(seq >>> 0, 20);
  return p;
}

export interface FrameInfo {
  senderId: number;
  seq: number;
  sentAt: number;
}

export function readFrame(data: Uint8Array): FrameInfo | undefined {
  if (data.length < FRAME_HEADER_BYTES || data[0] !== 0x80) return undefined;
  const b = Buffer.from(data.buffer, data.byteOffset, data.length);
  return { senderId: b.readUInt32BE(8), seq: b.readUInt32BE(20), sentAt: b.readDoubleBE(12) };
}

/** A growable Float64 list (send times by sequence number, latencies). */
export class F64List {
  private buf: Float64Array;
  length = 0;
  constructor(initial = 1024) {
    this.buf = new Float64Array(initial);
  }
  push(v: number): void {
    if (this.length === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = v;
  }
  get(i: number): number {
    return this.buf[i]!;
  }
  view(): Float64Array {
    return this.buf.subarray(0, this.length);
  }
}

/** A growable bit set (which sequence numbers of one sender one receiver got). */
export class BitSet {
  private bits = new Uint32Array(64);
  has(i: number): boolean {
    const w = i >>> 5;
    return w < this.bits.length && (this.bits[w]! & (1 << (i & 31))) !== 0;
  }
  add(i: number): void {
    const w = i >>> 5;
    if (w >= this.bits.length) {
      let n = this.bits.length;
      while (n <= w) n *= 2;
      const next = new Uint32Array(n);
      next.set(this.bits);
      this.bits = next;
    }
    this.bits[w]! |= 1 << (i & 31);
  }
}

/** One receiver's view of one sender's stream (RFC 3550 §6.4.1 jitter, duplicates, order). */
export class StreamTrack {
  readonly got = new BitSet();
  unique = 0;
  duplicates = 0;
  outOfOrder = 0;
  highest = -1;
  jitter = 0;
  /** `unique` when the runner last sampled jitter (a track counts in an interval only if it got frames in it). */
  sampledUnique = 0;
  private lastTransit = NaN;

  /** Returns false for a duplicate. */
  onFrame(seq: number, transitMs: number): boolean {
    if (this.got.has(seq)) {
      this.duplicates++;
      return false;
    }
    this.got.add(seq);
    this.unique++;
    if (seq < this.highest) this.outOfOrder++;
    else this.highest = seq;
    if (!Number.isNaN(this.lastTransit)) this.jitter += (Math.abs(transitMs - this.lastTransit) - this.jitter) / 16;
    this.lastTransit = transitMs;
    return true;
  }
}

export { nowEpochMs };
