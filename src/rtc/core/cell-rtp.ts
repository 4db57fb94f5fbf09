/**
 * Mixed rooms, sans-IO: the RTP header the relay writes for a cell member's end-to-end record on
 * its way to browsers (docs/RTC.md, "Mixed rooms"). The record itself is the RTP payload, byte for
 * byte: the relay never opens it. One CellRtpStreams per receiving browser (each record is made into
 * RTP once per receiver; a shared one would advance a stream once per receiver), and in it one RTP
 * stream per cell member. What the relay makes:
 *
 *   SSRC      random per stream (a member that leaves and joins again is a new stream, new SSRC:
 *             a new sender for the receiver's jitter buffer and replay state);
 *   sequence  random start, +1 per record (RFC 3550 §5.1), never skipped: a record lost in the
 *             cell plane is invisible to the browser's NACK, which could not fetch it anyway;
 *   timestamp 48 kHz Opus clock (RFC 7587 §4.1) from the cell tick the record left on:
 *             start + (tick − first tick) × tickMs × 48, and at least one frame (tickMs × 48)
 *             after the stream's previous packet, so two records of one sender in one tick (a
 *             backlog) still play in order and a gap (nothing sent, records dropped) stays a gap;
 *   PT        the Opus payload type of the edge's offer contract; the slot's sender rewrites it to
 *             the receiver's negotiated one;
 *   marker    set on a stream's first packet only (the start of a talkspurt, RFC 3551 §4.1: DTX
 *             is off for every member, so one talkspurt per stream).
 *
 * Slot continuity (a receive slot changing streams, as when a member leaves and another takes its
 * slot) is the slot sender's job (peer-session.ts, `replaceRTP`), as for browser uplinks.
 * No clock and no randomness of its own: `nowMs` and `random32` come in.
 */

/** The payload type this core writes (the edge's audio contract: Opus). */
export const CELL_RTP_PAYLOAD_TYPE = 111;
/** Opus RTP clock (RFC 7587 §4.1), in ticks per ms. */
const OPUS_TICKS_PER_MS = 48;

/** The header fields of one packet; filled in place (no allocation per record). */
export interface CellRtpHeader {
  ssrc: number;
  sequence: number;
  timestamp: number;
  payloadType: number;
  marker: boolean;
}

export function emptyCellRtpHeader(): CellRtpHeader {
  return { ssrc: 0, sequence: 0, timestamp: 0, payloadType: CELL_RTP_PAYLOAD_TYPE, marker: false };
}

interface Stream {
  readonly ssrc: number;
  seq: number;
  /** Timestamp of the tick the stream started on, and that tick's index. */
  readonly tsStart: number;
  readonly tickStart: number;
  /** Clock ticks from tsStart to the last packet written (unwrapped); -Infinity before the first. */
  lastElapsed: number;
}

export class CellRtpStreams {
  private readonly streams = new Map<number, Stream>();
  private readonly frameTicks: number;

  constructor(
    private readonly tickMs: number,
    private readonly random32: () => number,
  ) {
    this.frameTicks = tickMs * OPUS_TICKS_PER_MS;
  }

  get size(): number {
    return this.streams.size;
  }

  /**
   * The header of `member`'s next packet, a record that left the cell plane at `nowMs` (the cell
   * tick's time). A member seen for the first time starts a stream.
   */
  next(member: number, nowMs: number, out: CellRtpHeader): CellRtpHeader {
    const tick = Math.floor(nowMs / this.tickMs);
    let s = this.streams.get(member);
    if (s === undefined) {
      s = { ssrc: this.freshSsrc(), seq: this.random32() & 0xffff, tsStart: this.random32() >>> 0, tickStart: tick, lastElapsed: -Infinity };
      this.streams.set(member, s);
    }
    // Offsets from the stream's start, unwrapped (they only grow); wrapped to 32 bits on output.
    const elapsed = Math.max((tick - s.tickStart) * this.frameTicks, s.lastElapsed + this.frameTicks);
    out.ssrc = s.ssrc;
    out.sequence = s.seq;
    out.timestamp = (s.tsStart + elapsed) % 0x1_0000_0000;
    out.payloadType = CELL_RTP_PAYLOAD_TYPE;
    out.marker = s.lastElapsed === -Infinity;
    s.seq = (s.seq + 1) & 0xffff;
    s.lastElapsed = elapsed;
    return out;
  }

  /** `member` left: its stream ends (a later member with the same id starts a new one). */
  end(member: number): void {
    this.streams.delete(member);
  }

  /** A non-zero SSRC no live stream uses. */
  private freshSsrc(): number {
    for (;;) {
      const v = this.random32() >>> 0;
      if (v === 0) continue;
      let used = false;
      for (const s of this.streams.values()) if (s.ssrc === v) used = true;
      if (!used) return v;
    }
  }
}

/** RTP clock ticks of one frame by kind: 20 ms of Opus (48 kHz), 1/30 s of video (90 kHz). */
const FRAME_TICKS = { audio: 960, video: 3000 } as const;

/**
 * A receive slot switching to a new source (a member left and another took its slot, a browser or
 * a cell member): the anchor to hand werift's `RTCRtpSender.replaceRTP` (without its
 * `discontinuity` flag) so the slot's first packet of the new source follows the last one sent
 * with sequence + 1 and timestamp + one frame (RFC 3550 §5.1: receivers keep one SSRC's clock).
 * werift 0.24.4 maps a packet to `seq + (last − anchor.seq)`, `ts + (lastTs − anchor.ts)`; with
 * its own `discontinuity` flag it adds 2 to the sequence and truncates the timestamp offset to 16
 * bits (`uint16Add`), so a switched slot's timestamps jumped by up to ±1.4 s of audio.
 */
export function switchAnchor(firstSeq: number, firstTs: number, kind: 'audio' | 'video'): { sequenceNumber: number; timestamp: number } {
  return { sequenceNumber: (firstSeq - 1) & 0xffff, timestamp: (firstTs - FRAME_TICKS[kind] + 0x1_0000_0000) % 0x1_0000_0000 };
}
