/**
 * The downlink pacer of the WebRTC edge, sans-IO: it decides when a padded receive slot is owed a
 * packet and what size it must be, and numbers the slot's RTP packets (sequence, timestamp) so
 * padding-only packets fit between forwarded ones. No clock, no socket: `nowMs` comes in, slots
 * owed a packet and the next wake-up time go out. docs/RTC.md, "Downlink padding".
 *
 * Unit: one receive slot (one m-line, one SSRC at the receiver). The SSRC is in clear in every SRTP
 * header, so a per-receiver total alone would let an observer (or a receiver) watch one SSRC's rate
 * change when its member goes quiet; per slot, every SSRC of the downlink keeps one cadence.
 *
 * Rule, per slot: a forwarded packet resets the slot's deadline to `now + periodMs + graceMs`; a
 * slot whose deadline passed is owed one padding-only packet (RFC 3550 §5.1, P bit, no payload)
 * and its next deadline is one period later (the cadence keeps its phase, no drift). A wake-up
 * that comes late (a busy event loop) owes what fell due meanwhile, up to `maxCatchUp` packets,
 * so the slot keeps its rate over any window longer than that; a longer lag drops the rest of the
 * debt (no burst beyond it) and the cadence restarts from the wake-up. A slot is paced
 * from the moment it is added, whether or not a member is in it (an empty slot is padded too).
 * Sizes: padding-only packets carry `padBytes` of padding; a forwarded payload below `padBytes`
 * gets RTP padding up to it (at most 255 bytes, RFC 3550 §5.1's one-byte count); one at or above
 * is sent as it is and counted as oversize by the caller.
 *
 * What SRTP leaves in clear (RFC 3711 §3.1: the RTP header is authenticated, not encrypted) must
 * not tell a padding packet from a forwarded one either: the P bit (so `padBytes` is one more than
 * the SDK's sealed frame, and every forwarded frame carries at least one byte of padding), the
 * sequence number (padding takes the next one), the timestamp (a padding packet advances it by
 * one period, as a frame would; the first forwarded packet after padding continues from there),
 * the marker (0, as on every Opus packet after the first with DTX off), SSRC and payload type (the
 * slot's). docs/RTC.md, "Downlink padding".
 */

export interface PacerOptions {
  /** One packet per slot per this period (20 ms: one Opus frame). */
  readonly periodMs: number;
  /** How late a forwarded packet may be (uplink jitter) before the slot is padded instead. */
  readonly graceMs: number;
  /** The size every downlink audio packet's payload + padding has (the SDK's sealed audio frame). */
  readonly padBytes: number;
  /** RTP clock rate of the paced kind (Opus: 48 000), for timestamps across a source switch. */
  readonly clockRate: number;
  /** Most packets one slot is owed by one late wake-up (default 3: a 60 ms lag at 20 ms). */
  readonly maxCatchUp?: number;
}

/** RFC 3550 §5.1: the padding count is one octet and counts itself. */
export const MAX_RTP_PADDING = 255;

/** What the slot sends for one forwarded packet: its numbering and the padding to add. */
export interface SlotStamp {
  seq: number;
  ts: number;
  /** Bytes of RTP padding to append (0: none). */
  pad: number;
}

/** One paced receive slot: its deadline and its own RTP numbering. */
export class PacedSlot {
  /** When the slot is next owed a packet (ms). */
  due: number;
  /** SSRC of the source last forwarded (-1: none yet). */
  source = -1;
  /** Last sequence number and timestamp sent on the slot (input + offset, or padding). */
  seq: number;
  ts: number;
  /** When the last packet (forwarded or padding) left, for the timestamp across a source switch. */
  lastMs: number;
  seqOffset = 0;
  tsOffset = 0;
  /** The last packet was padding: the next forwarded one re-bases the timestamp from it. */
  afterPad = false;
  /** Index in the pacer's list (-1: not paced). */
  index = -1;

  constructor(
    /** What the I/O layer needs to send on this slot (session, mid): opaque to the core. */
    readonly ref: unknown,
    nowMs: number,
    /** Random initial sequence number and timestamp (RFC 3550 §5.1), drawn by the caller. */
    seq0: number,
    ts0: number,
  ) {
    this.due = nowMs;
    this.seq = seq0 & 0xffff;
    this.ts = ts0 >>> 0;
    this.lastMs = nowMs;
  }
}

export class DownlinkPacer {
  private readonly slots: PacedSlot[] = [];

  constructor(readonly opts: PacerOptions) {}

  get size(): number {
    return this.slots.length;
  }

  /** Starts pacing `slot`: its first packet is owed one period from now. */
  add(slot: PacedSlot, nowMs: number): void {
    if (slot.index >= 0) return;
    slot.due = nowMs + this.opts.periodMs;
    slot.lastMs = nowMs;
    slot.index = this.slots.length;
    this.slots.push(slot);
  }

  /** Stops pacing `slot` (its session closed). O(1): the last slot takes its place. */
  remove(slot: PacedSlot): void {
    const i = slot.index;
    if (i < 0) return;
    const last = this.slots.pop()!;
    if (last !== slot) {
      this.slots[i] = last;
      last.index = i;
    }
    slot.index = -1;
  }

  /**
   * A packet of `source` (input `seq`, `ts`, `payloadBytes` long) goes out on `slot` now: writes
   * into `out` its numbering and the padding it needs, and moves the slot's deadline. Same source:
   * the input's sequence gaps (uplink loss) are kept, shifted past the padding sent in between. A
   * new source, or the first packet after padding, continues the slot's timestamp (advanced by the
   * time since the last packet); a new source also takes the next sequence number: the receiver
   * sees one stream.
   */
  forwarded(slot: PacedSlot, source: number, seq: number, ts: number, payloadBytes: number, nowMs: number, out: SlotStamp): void {
    const switched = source !== slot.source;
    if (switched) {
      slot.source = source;
      slot.seqOffset = (slot.seq + 1 - seq) & 0xffff;
    }
    if (switched || slot.afterPad) {
      slot.afterPad = false;
      const elapsed = Math.max(1, Math.round(((nowMs - slot.lastMs) * this.opts.clockRate) / 1000));
      slot.tsOffset = (slot.ts + elapsed - ts) >>> 0;
    }
    slot.seq = (seq + slot.seqOffset) & 0xffff;
    slot.ts = (ts + slot.tsOffset) >>> 0;
    slot.lastMs = nowMs;
    slot.due = nowMs + this.opts.periodMs + this.opts.graceMs;
    out.seq = slot.seq;
    out.ts = slot.ts;
    out.pad = this.padFor(payloadBytes);
  }

  /** RTP padding for a forwarded payload: up to `padBytes`, 0 when it is already that size or more. */
  padFor(payloadBytes: number): number {
    const pad = this.opts.padBytes - payloadBytes;
    return pad > 0 && pad <= MAX_RTP_PADDING ? pad : 0;
  }

  /**
   * Numbering for one padding-only packet on `slot` (the caller sends `padBytes` of padding): the
   * next sequence number, the timestamp one period on (what a frame would carry: the timestamp is
   * in clear), and the slot's input mapping shifted by one so the source's next packet follows it.
   */
  padded(slot: PacedSlot, nowMs: number, out: SlotStamp): void {
    slot.seq = (slot.seq + 1) & 0xffff;
    slot.seqOffset = (slot.seqOffset + 1) & 0xffff;
    slot.ts = (slot.ts + (this.opts.clockRate * this.opts.periodMs) / 1000) >>> 0;
    slot.lastMs = nowMs;
    slot.afterPad = true;
    out.seq = slot.seq;
    out.ts = slot.ts;
    out.pad = this.opts.padBytes;
  }

  /**
   * Calls `owe(slot)` for each slot owed a padding packet at `nowMs` (the caller sends it and calls
   * `padded`), advances their deadlines, and returns when the next slot falls due (Infinity: none).
   */
  poll(nowMs: number, owe: (slot: PacedSlot) => void): number {
    const period = this.opts.periodMs;
    const most = this.opts.maxCatchUp ?? 3;
    let next = Infinity;
    for (let i = 0; i < this.slots.length; i++) {
      const s = this.slots[i]!;
      for (let k = 0; s.due <= nowMs && k < most; k++) {
        s.due += period;
        owe(s);
      }
      if (s.due <= nowMs) s.due = nowMs + period; // lagged past maxCatchUp periods: the rest of the debt is dropped
      if (s.due < next) next = s.due;
    }
    return next;
  }
}
