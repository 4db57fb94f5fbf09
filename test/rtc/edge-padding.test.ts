// Downlink padding through the real edge (werift clients on 127.0.0.1): every audio receive slot of a
// receiver gets one packet per 20 ms of one size (payload + RTP padding = rtc.audioPadBytes) whether
// its member speaks, stalls, is absent or has left; payloads arrive unaltered (the padding is RTP's,
// stripped by the receiver); sequence numbers stay continuous through padding; rtc.audioPadding off
// sends no padding.
import type { RtpPacket } from 'werift';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EdgeClient, roomId, waitFor } from '../../loadtest/rtc/edge-client.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Arrival {
  t: number;
  mid: string;
  payload: number;
  padding: number;
  seq: number;
  ts: number;
}

/** Records every packet on `c`'s receive slots. */
function capture(c: EdgeClient): Arrival[] {
  const out: Arrival[] = [];
  c.onSlotRtp = (mid: string, rtp: RtpPacket, t: number) => out.push({ t, mid, payload: rtp.payload.length, padding: rtp.header.padding ? rtp.header.paddingSize : 0, seq: rtp.header.sequenceNumber, ts: rtp.header.timestamp });
  return out;
}

/** Packets per second per slot over [from, to). */
function rates(list: Arrival[], from: number, to: number): Map<string, number> {
  const m = new Map<string, number>();
  for (const a of list) if (a.t >= from && a.t < to) m.set(a.mid, (m.get(a.mid) ?? 0) + 1);
  for (const [k, v] of m) m.set(k, (v * 1000) / (to - from));
  return m;
}

/** Sequence gaps (missing numbers) per slot, over the whole capture. */
function gaps(list: Arrival[]): number {
  const bySlot = new Map<string, number[]>();
  for (const a of list) bySlot.set(a.mid, [...(bySlot.get(a.mid) ?? []), a.seq]);
  let missing = 0;
  for (const seqs of bySlot.values()) for (let i = 1; i < seqs.length; i++) missing += ((seqs[i]! - seqs[i - 1]! + 0x10000) & 0xffff) - 1;
  return missing;
}

describe('WebRTC edge downlink padding (werift clients)', () => {
  let relay: TestRelay;
  beforeAll(async () => {
    relay = await startTestRelay({ rtc: { enabled: true } });
  });
  afterAll(async () => {
    await relay.dispose();
  });

  it('each of a receiver\'s 3 audio slots keeps 50 packets/s of one size: a speaking member, a stalled one, an empty slot, and after a leave', async () => {
    const room = roomId();
    const [rx, a, b] = [new EdgeClient(3), new EdgeClient(3), new EdgeClient(3)];
    const seen = capture(rx);
    try {
      for (const c of [rx, a, b]) expect((await c.join(relay.url, room)).status).toBe(201);
      await Promise.all([rx, a, b].map((c) => c.connected()));
      a.startSending('a'); // short payloads ("a:17"): padded up to 114 by RTP padding
      b.startSending('b', 114); // the SDK's sealed size: one byte of padding (so the P bit is on every packet)
      await waitFor(() => [...rx.sources().values()].filter((s) => s.size > 0).length === 2, 10_000, 'rx hears a and b');
      const t1 = performance.now();
      await sleep(2000);
      const t2 = performance.now();
      b.stopSending(); // b stalls (its session stays)
      await sleep(1500);
      const t3 = performance.now();
      expect((await fetch(relay.url + a.location, { method: 'DELETE' })).status).toBe(204); // a leaves
      await sleep(1500);
      const t4 = performance.now();

      const phases = [
        ['a and b send', t1, t2],
        ['b stalls', t2 + 200, t3],
        ['a left', t3 + 200, t4],
      ] as const;
      const all = new Set(seen.map((x) => x.mid));
      expect(all.size).toBe(3); // every slot, the empty one too
      for (const [name, from, to] of phases) {
        const r = rates(seen, from, to);
        console.log(`${name}: packets/s per slot ${[...all].map((m) => `${m}: ${(r.get(m) ?? 0).toFixed(1)}`).join(', ')}`);
        for (const m of all) {
          // 50/s. Generous for timers on 2 shared cores under CI load (the senders' timers too): what
          // it tells apart is 0/s (an unpadded empty or stalled slot) and 100/s (padding beside media).
          // The exact cadence is the sans-IO pacer's test (test/rtc/downlink-pacer.test.ts).
          expect(r.get(m) ?? 0).toBeGreaterThan(35);
          expect(r.get(m) ?? 0).toBeLessThan(65);
        }
      }
      // One size: payload + RTP padding = 115 on every packet of every slot, every one with the P bit.
      const sizes = new Set(seen.filter((x) => x.t >= t1).map((x) => x.payload + x.padding));
      expect([...sizes]).toEqual([115]);
      expect(seen.filter((x) => x.t >= t1).every((x) => x.padding > 0)).toBe(true);
      // Timestamps in clear: every slot's advance one frame (960) per packet, padding or not (+- what a late timer adds).
      const steps = new Set<number>();
      for (const mid of all) {
        const list = seen.filter((x) => x.mid === mid && x.t >= t1);
        for (let i = 1; i < list.length; i++) steps.add(((list[i]!.ts - list[i - 1]!.ts) >>> 0) - 960);
      }
      console.log(`timestamp step - 960 per packet, distinct values: ${[...steps].sort((x, y) => x - y).join(',')}`);
      expect(steps.has(0)).toBe(true);
      const paddingOnly = seen.filter((x) => x.payload === 0).length;
      expect(paddingOnly).toBeGreaterThan(100);
      expect(rx.paddingPackets).toBe(paddingOnly);
      // The padding is RTP's: the receiver's payloads are what a sent, byte for byte.
      for (const [, list] of rx.received) for (const p of list) expect(p.toString()).toMatch(/^a:\d+$|^b:\d+\0*$/);
      // Padding takes its place in each slot's sequence: no gap on loopback.
      console.log(`sequence gaps over ${seen.length} packets: ${gaps(seen)}; padding-only ${paddingOnly}; xrelay_rtc_padding_packets_total ${relay.metric('xrelay_rtc_padding_packets_total')}`);
      expect(gaps(seen)).toBeLessThanOrEqual(2);
      expect(relay.metric('xrelay_rtc_padding_packets_total')).toBeGreaterThanOrEqual(paddingOnly);
      expect(relay.metric('xrelay_rtc_pad_oversize_total')).toBe(0);
    } finally {
      for (const c of [rx, a, b]) await c.close();
    }
  }, 30_000);

  it('rtc.audioPadding off: an empty slot gets nothing and payloads are not padded', async () => {
    const quiet = await startTestRelay({ rtc: { enabled: true, audioPadding: false } });
    const room = roomId();
    const [rx, a] = [new EdgeClient(2), new EdgeClient(2)];
    const seen = capture(rx);
    try {
      for (const c of [rx, a]) expect((await c.join(quiet.url, room)).status).toBe(201);
      await Promise.all([rx, a].map((c) => c.connected()));
      a.startSending('a');
      await sleep(1500);
      expect(new Set(seen.map((x) => x.mid)).size).toBe(1);
      expect(seen.every((x) => x.padding === 0 && x.payload > 0 && x.payload < 20)).toBe(true);
      expect(seen.length).toBeGreaterThan(40);
      expect(quiet.metric('xrelay_rtc_padding_packets_total')).toBe(0);
    } finally {
      for (const c of [rx, a]) await c.close();
      await quiet.dispose();
    }
  }, 20_000);
});
