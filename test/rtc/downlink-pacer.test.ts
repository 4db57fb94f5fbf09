/** The downlink pacer (sans-IO, injected time): when a slot is owed a padding packet, what size, how it is numbered. */
import { describe, expect, it } from 'vitest';
import { DownlinkPacer, PacedSlot, type SlotStamp } from '../../src/rtc/core/downlink-pacer.js';

const OPTS = { periodMs: 20, graceMs: 10, padBytes: 115, clockRate: 48_000 };

/** Polls every millisecond from `from` to `to` (inclusive); the times each slot was owed a packet. */
function run(pacer: DownlinkPacer, from: number, to: number, onMs: (t: number) => void = () => undefined): Map<PacedSlot, number[]> {
  const owed = new Map<PacedSlot, number[]>();
  const stamp: SlotStamp = { seq: 0, ts: 0, pad: 0 };
  for (let t = from; t <= to; t++) {
    onMs(t);
    pacer.poll(t, (s) => {
      pacer.padded(s, t, stamp);
      owed.set(s, [...(owed.get(s) ?? []), t]);
    });
  }
  return owed;
}

describe('DownlinkPacer', () => {
  it('an empty slot is owed one padding packet every period, from one period after it is added', () => {
    const p = new DownlinkPacer(OPTS);
    const s = new PacedSlot('a', 0, 0, 0);
    p.add(s, 1000);
    const owed = run(p, 1000, 1999).get(s)!;
    expect(owed.slice(0, 4)).toEqual([1020, 1040, 1060, 1080]);
    expect(owed.length).toBe(49); // 1020..1980
    expect(new Set(owed.slice(1).map((t, i) => t - owed[i]!))).toEqual(new Set([20]));
  });

  it('a slot fed every 20 ms (jitter within the grace) is never padded; a stall is padded from period + grace after the last packet', () => {
    const p = new DownlinkPacer(OPTS);
    const s = new PacedSlot('a', 0, 0, 0);
    p.add(s, 10); // first deadline 30: the first packet (29) comes before it
    const stamp: SlotStamp = { seq: 0, ts: 0, pad: 0 };
    // Packets at 20k ms ± up to 9 ms of jitter, until 500 ms; then the member stalls.
    const jitter = [0, 9, -7, 3, 8, -9, 0, 5];
    const arrivals = new Set<number>();
    for (let k = 1; k * 20 <= 500; k++) arrivals.add(k * 20 + jitter[k % jitter.length]!);
    let seq = 0;
    const owed = run(p, 0, 700, (t) => {
      if (arrivals.has(t)) p.forwarded(s, 7, seq++, seq * 960, 114, t, stamp);
    }).get(s)!;
    const last = Math.max(...arrivals);
    expect(owed.filter((t) => t <= last)).toEqual([]);
    expect(owed[0]).toBe(last + 30);
    expect(owed.slice(1).map((t, i) => t - owed[i]!).every((d) => d === 20)).toBe(true);
  });

  it('a late wake-up owes what fell due, up to maxCatchUp packets; past that the debt is dropped and the cadence restarts', () => {
    const p = new DownlinkPacer(OPTS);
    const s = new PacedSlot('a', 0, 0, 0);
    p.add(s, 0);
    const times: number[] = [];
    // due 20; 40 and 60 fall due by 65 (3 owed at once); 80 by 85; then a 200 ms lag: 3 owed, cadence from 300.
    for (const t of [20, 65, 66, 85, 300, 301, 319, 320]) p.poll(t, () => times.push(t));
    expect(times).toEqual([20, 65, 65, 85, 300, 300, 300, 320]);
    const one = new DownlinkPacer({ ...OPTS, maxCatchUp: 1 });
    const s1 = new PacedSlot('b', 0, 0, 0);
    one.add(s1, 0);
    const t1: number[] = [];
    for (const t of [20, 100, 101, 119, 120, 140]) one.poll(t, () => t1.push(t));
    expect(t1).toEqual([20, 100, 120, 140]);
  });

  it('poll returns the next deadline over all slots; removed slots are no longer owed anything', () => {
    const p = new DownlinkPacer(OPTS);
    const [a, b, c] = ['a', 'b', 'c'].map((r) => new PacedSlot(r, 0, 0, 0)) as [PacedSlot, PacedSlot, PacedSlot];
    p.add(a, 0);
    p.add(b, 5);
    p.add(c, 12);
    expect(p.poll(1, () => undefined)).toBe(20);
    p.remove(a);
    expect(p.size).toBe(2);
    const owed: unknown[] = [];
    expect(p.poll(25, (s) => owed.push(s.ref))).toBe(32);
    expect(owed).toEqual(['b']);
    p.remove(a); // twice: no effect
    p.remove(c);
    expect(p.poll(100, (s) => owed.push(s.ref))).toBe(105); // b's 45, 65, 85 fell due (3 = maxCatchUp)
    expect(owed).toEqual(['b', 'b', 'b', 'b']);
  });

  it('sizes: forwarded payloads padded up to padBytes; at or above it, and beyond one padding octet, none', () => {
    const p = new DownlinkPacer(OPTS);
    // 115: the SDK's 114-byte sealed frame + 1, so every forwarded frame carries the P bit as padding does.
    expect([0, 1, 80, 113, 114, 115, 1200].map((n) => p.padFor(n))).toEqual([115, 114, 35, 2, 1, 0, 0]);
    expect(new DownlinkPacer({ ...OPTS, padBytes: 300 }).padFor(10)).toBe(0); // would need 290 > 255
    const s = new PacedSlot('a', 0, 0, 0);
    const stamp: SlotStamp = { seq: 0, ts: 0, pad: -1 };
    p.padded(s, 0, stamp);
    expect(stamp.pad).toBe(115);
  });

  it('numbering: one continuous sequence through padding, uplink gaps kept, a new source continues the slot', () => {
    const p = new DownlinkPacer(OPTS);
    const s = new PacedSlot('a', 0, 65_533, 4_000_000_000);
    p.add(s, 0);
    const st: SlotStamp = { seq: 0, ts: 0, pad: 0 };
    const seqs: number[] = [];
    const tss: number[] = [];
    const fwd = (src: number, seq: number, ts: number, t: number): void => {
      p.forwarded(s, src, seq, ts, 114, t, st);
      seqs.push(st.seq);
      tss.push(st.ts);
    };
    const pad = (t: number): void => {
      p.padded(s, t, st);
      seqs.push(st.seq);
      tss.push(st.ts);
    };
    fwd(1, 100, 5000, 0); // first packet of source 1: continues the slot's random start
    fwd(1, 101, 5960, 20);
    fwd(1, 103, 7880, 60); // 102 lost on the uplink: the gap stays
    pad(90);
    pad(110);
    fwd(1, 104, 8840, 115); // after two padding packets
    fwd(2, 40_000, 123, 135); // a new source in the slot
    fwd(2, 40_001, 1083, 155);
    expect(seqs).toEqual([65_534, 65_535, 1, 2, 3, 4, 5, 6]);
    const t0 = 4_000_000_001; // the slot's start + 1 tick (a new source always moves the clock on)
    // Padding advances the timestamp one frame (960 at 48 kHz, 20 ms); the next forwarded packet
    // continues from the last padding by the time since (5 ms: 240), then a new source by 20 ms.
    expect(tss).toEqual([t0, t0 + 960, t0 + 2880, t0 + 3840, t0 + 4800, t0 + 5040, t0 + 6000, t0 + 6960].map((v) => v >>> 0));
  });

  it('timestamps wrap at 2^32 and sequence numbers at 2^16', () => {
    const p = new DownlinkPacer(OPTS);
    const s = new PacedSlot('a', 0, 0xffff, 0xffff_ffff);
    const st: SlotStamp = { seq: 0, ts: 0, pad: 0 };
    p.forwarded(s, 9, 0xfffe, 0xffff_fc40, 114, 20, st); // 20 ms after the start
    expect([st.seq, st.ts]).toEqual([0, 959]);
    p.forwarded(s, 9, 0xffff, 0x0000_0000, 114, 40, st);
    expect([st.seq, st.ts]).toEqual([1, (959 + 960) >>> 0]);
  });
});
