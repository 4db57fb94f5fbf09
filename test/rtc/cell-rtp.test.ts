// Mixed rooms, sans-IO: the RTP headers the relay writes for cell members' records (exact fields
// with injected randomness and time), a stream's continuity across gaps, backlogs and wraps, a
// member leaving and joining again, and the slot anchor for a source switch.
import { describe, expect, it } from 'vitest';
import { CELL_RTP_PAYLOAD_TYPE, CellRtpStreams, emptyCellRtpHeader, switchAnchor, type CellRtpHeader } from '../../src/rtc/core/cell-rtp.js';

/** A fixed sequence of "random" values, then an error if the core asks for more than expected. */
function randoms(...values: number[]): () => number {
  let i = 0;
  return () => {
    if (i >= values.length) throw new Error('core drew more randomness than expected');
    return values[i++]!;
  };
}

const copy = (h: CellRtpHeader): CellRtpHeader => ({ ...h });

describe('CellRtpStreams', () => {
  it('first packets: exact header fields from the injected randomness and the cell tick', () => {
    // ssrc, seq start, ts start for member 7
    const s = new CellRtpStreams(20, randoms(0xdeadbeef, 0x1_2345, 1000));
    const h = emptyCellRtpHeader();
    expect(copy(s.next(7, 100_000, h))).toEqual({ ssrc: 0xdeadbeef, sequence: 0x2345, timestamp: 1000, payloadType: CELL_RTP_PAYLOAD_TYPE, marker: true });
    // next tick: +1, +960 (20 ms of 48 kHz), no marker
    expect(copy(s.next(7, 100_020, h))).toEqual({ ssrc: 0xdeadbeef, sequence: 0x2346, timestamp: 1960, payloadType: 111, marker: false });
    // same tick, any time within it: the tick index decides
    expect(s.next(7, 100_059, h).timestamp).toBe(2920);
  });

  it('a gap stays a gap in time, never in sequence; a backlog of two in one tick still advances one frame each', () => {
    const s = new CellRtpStreams(20, randoms(5, 0, 0));
    const h = emptyCellRtpHeader();
    s.next(1, 0, h);
    // 10 ticks with nothing (silence upstream, or records dropped by the cell plane)
    expect(copy(s.next(1, 200, h))).toMatchObject({ sequence: 1, timestamp: 9600 });
    // two records leave on one tick (a queue backlog): the second plays one frame later
    expect(s.next(1, 220, h).timestamp).toBe(10_560);
    expect(s.next(1, 220, h).timestamp).toBe(11_520);
    // the next tick would be 11_520 again: it stays one frame after the last
    expect(copy(s.next(1, 240, h))).toMatchObject({ sequence: 4, timestamp: 12_480 });
    // and the tick grid takes over again once time has caught up
    expect(s.next(1, 300, h).timestamp).toBe(14_400);
  });

  it('sequence wraps at 2^16 and timestamp at 2^32', () => {
    const s = new CellRtpStreams(20, randoms(9, 0xffff, 0xffff_ffff - 959));
    const h = emptyCellRtpHeader();
    expect(copy(s.next(3, 0, h))).toMatchObject({ sequence: 0xffff, timestamp: 0xffff_ffff - 959 });
    expect(copy(s.next(3, 20, h))).toMatchObject({ sequence: 0, timestamp: 0 });
    expect(copy(s.next(3, 40, h))).toMatchObject({ sequence: 1, timestamp: 960 });
  });

  it('streams are per member; a member that leaves and joins again is a new stream (new SSRC, marker)', () => {
    const s = new CellRtpStreams(20, randoms(11, 100, 0, 22, 200, 0, 33, 300, 5000));
    const h = emptyCellRtpHeader();
    const a = copy(s.next(1, 0, h));
    const b = copy(s.next(2, 0, h));
    expect([a.ssrc, a.sequence, b.ssrc, b.sequence]).toEqual([11, 100, 22, 200]);
    expect(s.next(1, 20, h).sequence).toBe(101);
    s.end(1);
    expect(s.size).toBe(1);
    const again = copy(s.next(1, 40, h));
    expect(again).toEqual({ ssrc: 33, sequence: 300, timestamp: 5000, payloadType: 111, marker: true });
    expect(s.next(2, 40, h).sequence).toBe(201); // the other stream is untouched
  });

  it('never draws SSRC 0 or one a live stream uses', () => {
    const s = new CellRtpStreams(20, randoms(7, 1, 1, 0, 7, 8, 2, 2));
    const h = emptyCellRtpHeader();
    expect(s.next(1, 0, h).ssrc).toBe(7);
    expect(s.next(2, 0, h).ssrc).toBe(8);
  });
});

describe('switchAnchor (a receive slot changing source)', () => {
  // werift 0.24.4 RTCRtpSender: replaceRTP(anchor) sets offsets last - anchor; sendRtp adds them.
  const sender = () => {
    let seqOffset = 0;
    let tsOffset = 0;
    let last: { seq: number; ts: number } | undefined;
    return {
      replace(a: { sequenceNumber: number; timestamp: number }) {
        if (last === undefined) return;
        seqOffset = (last.seq - a.sequenceNumber) & 0xffff;
        tsOffset = Number((BigInt(last.ts) - BigInt(a.timestamp)) & 0xffffffffn);
      },
      send(seq: number, ts: number) {
        last = { seq: (seq + seqOffset) & 0xffff, ts: (ts + tsOffset) % 2 ** 32 };
        return last;
      },
    };
  };

  it('the new source continues the slot at sequence + 1 and timestamp + one frame', () => {
    for (const [kind, step] of [['audio', 960], ['video', 3000]] as const) {
      const s = sender();
      let out = { seq: 0, ts: 0 };
      for (let i = 0; i < 5; i++) out = s.send(40_000 + i, 7_000_000 + i * step);
      // the new source starts anywhere (here near both wraps)
      s.replace(switchAnchor(65_530, 0xffff_fff0, kind));
      const first = s.send(65_530, 0xffff_fff0);
      expect(first).toEqual({ seq: (out.seq + 1) & 0xffff, ts: out.ts + step });
      const second = s.send(65_531 & 0xffff, (0xffff_fff0 + step) % 2 ** 32);
      expect(second).toEqual({ seq: (out.seq + 2) & 0xffff, ts: out.ts + 2 * step });
    }
  });

  it('anchors wrap', () => {
    expect(switchAnchor(0, 0, 'audio')).toEqual({ sequenceNumber: 0xffff, timestamp: 2 ** 32 - 960 });
  });
});
