// The stream framer under any chunking (RFC 8656 section 12.5): the same messages come out however
// the stream is cut, a frame trickled byte by byte costs linear work and holds about what arrived
// (not what its length header claims), and garbage after a partial message is a framing error.
import { describe, expect, it } from 'vitest';
import { Attr, encodeChannelData, FrameResult, Method, StreamFramer, StunWriter } from '../../src/turn/codec/index.js';

/** A deterministic PRNG (mulberry32), so a failure replays. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function messages(rand: () => number, n: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    if (rand() < 0.5) {
      const len = Math.floor(rand() * (rand() < 0.1 ? 65_000 : 300));
      out.push(encodeChannelData(0x4000 + i, Buffer.alloc(len, i & 0xff), true));
    } else {
      const w = new StunWriter().begin(Method.refresh, 0, Buffer.alloc(12, i & 0xff));
      for (let k = Math.floor(rand() * 5); k > 0; k--) w.u32(Attr.lifetime, k);
      out.push(w.finish());
    }
  }
  return out;
}

describe('stream framer', () => {
  it('any chunking yields the same messages, byte for byte', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const rand = prng(seed);
      const msgs = messages(rand, 30);
      const stream = Buffer.concat(msgs);
      const f = new StreamFramer();
      const got: Buffer[] = [];
      for (let pos = 0; pos < stream.length; ) {
        const cut = rand() < 0.3 ? 1 + Math.floor(rand() * 3) : 1 + Math.floor(rand() * 9000);
        const r = f.push(stream.subarray(pos, pos + cut), (m) => got.push(Buffer.from(m)));
        expect(r).not.toBe(FrameResult.invalid);
        pos += cut;
      }
      expect(f.buffered).toBe(0);
      expect(got.length, `seed ${seed}`).toBe(msgs.length);
      got.forEach((m, i) => expect(m.equals(msgs[i]!), `seed ${seed} message ${i}`).toBe(true));
    }
  });

  it('a 64 KiB frame trickled byte by byte: linear time, buffer at most about twice what arrived', () => {
    const frame = encodeChannelData(0x4001, Buffer.alloc(65_532, 7), true);
    const f = new StreamFramer();
    let got: Buffer | undefined;
    let worst = 0;
    const t0 = performance.now();
    for (let i = 0; i < frame.length; i++) {
      f.push(frame.subarray(i, i + 1), (m) => (got = Buffer.from(m)));
      // `buffered` is what arrived; the allocation behind it is checked through heap-free means:
      // the framer's own bound (partial capacity <= max(256, 2 x received)) via its private field.
      const cap = (f as unknown as { partial: Buffer }).partial.length;
      if (got === undefined) worst = Math.max(worst, cap / Math.max(256, 2 * f.buffered));
    }
    const ms = performance.now() - t0;
    console.log(`64 KiB frame in 1-byte chunks: ${ms.toFixed(1)} ms; worst capacity / max(256, 2 x received) = ${worst.toFixed(2)}`);
    expect(got?.equals(frame)).toBe(true);
    expect(worst).toBeLessThanOrEqual(1);
    // The quadratic framer took ~2 GB of copying here (seconds); linear is a few ms. 2 s is generous.
    expect(ms).toBeLessThan(2000);
  });

  it('a length header claiming 64 KiB holds only the bytes sent', () => {
    const f = new StreamFramer();
    expect(f.push(Buffer.from([0x40, 0x00, 0xff, 0xfc, 1, 2, 3, 4]), () => {})).toBe(FrameResult.needMore);
    expect(f.buffered).toBe(8);
    expect((f as unknown as { partial: Buffer }).partial.length).toBeLessThanOrEqual(256);
  });

  it('garbage completing a partial header, or after a partial message, is invalid and resets', () => {
    const f = new StreamFramer();
    expect(f.push(Buffer.from([0x80]), () => {})).toBe(FrameResult.needMore);
    expect(f.push(Buffer.from([0, 0, 0]), () => {})).toBe(FrameResult.invalid);
    expect(f.buffered).toBe(0);
    const g = new StreamFramer();
    const cd = encodeChannelData(0x4002, Buffer.from('abcdefgh'), true);
    const got: number[] = [];
    expect(g.push(cd.subarray(0, 6), () => {})).toBe(FrameResult.needMore);
    expect(g.push(Buffer.concat([cd.subarray(6), Buffer.from([0xc0, 0, 0, 0])]), (m) => got.push(m.length))).toBe(FrameResult.invalid);
    expect(got).toEqual([cd.length]);
    expect(new StreamFramer(100).push(Buffer.from([0x40, 0, 0]), () => {})).toBe(FrameResult.needMore);
  });
});
