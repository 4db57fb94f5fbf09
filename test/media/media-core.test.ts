import { describe, expect, it } from 'vitest';
import { CONTROL_SLOT, wireBytes } from '../../src/media/codec/cell-layout.js';
import { CONTROL_LEAVE, parseRoster } from '../../src/media/codec/control-records.js';
import { CLOSE_IDLE, CLOSE_LEAVE, DROP_FORGED, DROP_GARBAGE, DROP_MALFORMED, DROP_OVERSIZED, DROP_REPLAY, DROP_TRUNCATED, DROP_UNKNOWN_SESSION, SendBatch } from '../../src/media/core/media-core.js';
import { sealCell } from '../../src/media/crypto/cell-aead.js';
import { FakeClient, makeCore, room } from './core-helpers.js';

const batch = new SendBatch();
function poll(core: ReturnType<typeof makeCore>, now: number): { cells: Map<number, Buffer[]>; wake: number } {
  batch.reset();
  const wake = core.poll(now, batch);
  const cells = new Map<number, Buffer[]>();
  for (let i = 0; i < batch.count; i++) {
    const list = cells.get(batch.indexes[i]!) ?? [];
    list.push(batch.cells[i]!);
    cells.set(batch.indexes[i]!, list);
  }
  return { cells, wake };
}
const media = (records: Array<{ slot: number; data: Buffer }>) => records.filter((r) => r.slot !== CONTROL_SLOT);

describe('MediaCore (sans-IO, injected time)', () => {
  it('admits joins, caps rooms, refuses profile mismatches and unknown profiles', () => {
    const core = makeCore({ roomCap: 3 });
    const a = new FakeClient(core, room(1), 'audio', 0);
    new FakeClient(core, room(1), 'audio', 0);
    new FakeClient(core, room(1), 'audio', 0);
    expect(a.join.slot).toBe(0);
    expect(core.join(room(1), 'audio', new Uint8Array(32), new Uint8Array(32), 0)).toBe('room_full');
    expect(core.join(room(2), 'nope', new Uint8Array(32), new Uint8Array(32), 0)).toBe('unknown_profile');
    new FakeClient(core, room(2), 'audio', 0);
    expect(core.join(room(2), 'video', new Uint8Array(32), new Uint8Array(32), 0)).toBe('profile_mismatch');
    expect(makeCore({ maxSessions: 1 }).join(room(1), 'audio', new Uint8Array(32), new Uint8Array(32), 0)).not.toBe('too_many_sessions');
  });

  it('emits exactly one cell per tick per confirmed session, all of one size, real or dummy', () => {
    const core = makeCore();
    const a = new FakeClient(core, room(1), 'audio', 3);
    const b = new FakeClient(core, room(1), 'audio', 3);
    expect(poll(core, 3).wake).toBe(20);
    expect(core.receive(a.cell(), 4)).toBe(a.join.index);
    expect(core.receive(b.cell(), 4)).toBe(b.join.index);
    const sizes = new Set<number>();
    let now = 20;
    for (let t = 0; t < 200; t++, now += 20) {
      if (t % 10 < 5) core.receive(a.cell([Buffer.alloc(100, t)]), now - 7);
      core.receive(b.cell(), now - 6);
      const { cells, wake } = poll(core, now);
      expect(wake).toBe(now + 20);
      expect(cells.get(a.join.index)).toHaveLength(1);
      expect(cells.get(b.join.index)).toHaveLength(1);
      for (const list of cells.values()) for (const c of list) sizes.add(c.length);
      // polling again within the tick emits nothing
      expect(poll(core, now + 5).cells.size).toBe(0);
    }
    expect([...sizes]).toEqual([wireBytes(480)]);
    expect(core.stats.cellsOut).toBe(400);
  });

  it('fans each record out to every other member, in order, within one tick', () => {
    const core = makeCore();
    const clients = Array.from({ length: 8 }, () => new FakeClient(core, room(9), 'audio-room', 0));
    for (const c of clients) core.receive(c.cell(), 1);
    poll(core, 0);
    const got = clients.map(() => new Map<number, number[]>());
    let now = 20;
    for (let t = 0; t < 50; t++, now += 20) {
      clients.forEach((c, i) => {
        const p = Buffer.alloc(120, 0);
        p.writeUInt32BE(t, 0);
        expect(core.receive(c.cell([p]), now - 19 + i)).toBeGreaterThanOrEqual(0);
      });
      const { cells } = poll(core, now);
      clients.forEach((c, i) => {
        const opened = c.open(cells.get(c.join.index)![0]!);
        for (const r of media(opened.records)) {
          const list = got[i]!.get(r.slot) ?? [];
          list.push(r.data.readUInt32BE(0));
          got[i]!.set(r.slot, list);
        }
      });
    }
    clients.forEach((c, i) => {
      expect(got[i]!.has(c.join.slot)).toBe(false);
      for (const other of clients) {
        if (other === c) continue;
        expect(got[i]!.get(other.join.slot)).toEqual(Array.from({ length: 50 }, (_, t) => t));
      }
    });
    expect(core.stats.queueDrops).toBe(0);
  });

  it('adds at most one tick of latency when queues are not backlogged (random arrival times)', () => {
    const core = makeCore();
    const a = new FakeClient(core, room(3), 'audio', 0);
    const b = new FakeClient(core, room(3), 'audio', 0);
    core.receive(b.cell(), 0);
    poll(core, 0);
    const sentAt = new Map<number, number>();
    let worst = 0;
    let x = 99;
    for (let t = 1; t <= 300; t++) {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      const arrival = (t - 1) * 20 + (x % 2000) / 100; // anywhere inside the previous tick
      core.receive(a.cell([Buffer.from([t & 0xff, t >> 8])]), arrival);
      sentAt.set(t, arrival);
      core.receive(b.cell(), arrival);
      const cell = poll(core, t * 20).cells.get(b.join.index)![0]!;
      for (const r of media(b.open(cell).records)) worst = Math.max(worst, t * 20 - sentAt.get(r.data[0]! | (r.data[1]! << 8))!);
    }
    expect(worst).toBeLessThanOrEqual(20);
    expect(worst).toBeGreaterThan(15);
  });

  it('bounds receiver queues, dropping oldest first, and drops records older than the age bound', () => {
    const core = makeCore({ queueRecords: 4 });
    const a = new FakeClient(core, room(1), 'audio', 0);
    const b = new FakeClient(core, room(1), 'audio', 0);
    core.receive(b.cell(), 0);
    for (let i = 0; i < 10; i++) core.receive(a.cell([Buffer.from([i + 1])]), 1);
    expect(core.stats.queueDrops).toBe(6);
    const { cells } = poll(core, 20);
    expect(media(b.open(cells.get(b.join.index)![0]!).records).map((r) => r.data[0])).toEqual([7, 8, 9, 10]);
    core.receive(a.cell([Buffer.from([42])]), 21);
    core.receive(b.cell(), 400);
    const late = poll(core, 400).cells.get(b.join.index)![0]!;
    expect(media(b.open(late).records)).toEqual([]);
    expect(core.stats.staleDrops).toBe(1);
  });

  it('sends rosters with a growing epoch on join and leave, and honours in-band leave', () => {
    const core = makeCore();
    const a = new FakeClient(core, room(1), 'audio', 0);
    core.receive(a.cell(), 0);
    let r = a.open(poll(core, 0).cells.get(a.join.index)![0]!).records;
    expect(parseRoster(r[0]!.data)).toEqual({ epoch: 1, yourSlot: 0, slots: [0] });
    const b = new FakeClient(core, room(1), 'audio', 5);
    r = a.open(poll(core, 20).cells.get(a.join.index)![0]!).records;
    expect(parseRoster(r[0]!.data)).toEqual({ epoch: 2, yourSlot: 0, slots: [0, 1] });
    r = a.open(poll(core, 40).cells.get(a.join.index)![0]!).records;
    expect(r).toEqual([]);
    core.receive(b.cell([], Buffer.from([CONTROL_LEAVE])), 41);
    batch.reset();
    core.poll(60, batch);
    expect(batch.closedCount).toBe(1);
    expect(batch.closedReasons[0]).toBe(CLOSE_LEAVE);
    expect(parseRoster(a.open(batch.cells[0]!).records[0]!.data)).toEqual({ epoch: 3, yourSlot: 0, slots: [0] });
    expect(core.sessionCount).toBe(1);
  });

  it('times idle sessions out, and skips missed ticks instead of bursting', () => {
    const core = makeCore({ idleTimeoutMs: 1000 });
    const a = new FakeClient(core, room(1), 'audio', 0);
    core.receive(a.cell(), 0);
    poll(core, 0);
    const { cells, wake } = poll(core, 95);
    expect(cells.get(a.join.index)).toHaveLength(1);
    expect(core.stats.missedTicks).toBe(3); // ticks 20, 40, 60 skipped; 80 sent late
    expect(wake).toBe(100);
    batch.reset();
    expect(core.poll(1100, batch)).toBe(Infinity);
    expect(batch.closedReasons[0]).toBe(CLOSE_IDLE);
    expect(core.roomCount).toBe(0);
  });

  it('drops and counts garbage, unknown sessions, truncation, oversize, replays, forgeries and malformed bodies', () => {
    const core = makeCore();
    const a = new FakeClient(core, room(1), 'audio', 0);
    const good = a.cell([Buffer.from('x')]);
    expect(core.receive(good, 1)).toBe(a.join.index);
    expect(core.receive(good, 1)).toBe(-DROP_REPLAY);
    expect(core.receive(Buffer.alloc(5), 1)).toBe(-DROP_GARBAGE);
    const unknown = Buffer.from(good);
    unknown.writeUInt32BE((a.join.session ^ 0x10000) >>> 0, 0);
    expect(core.receive(unknown, 1)).toBe(-DROP_UNKNOWN_SESSION);
    const next = a.cell();
    expect(core.receive(next.subarray(0, next.length - 1), 1)).toBe(-DROP_TRUNCATED);
    expect(core.receive(Buffer.concat([next, Buffer.alloc(1)]), 1)).toBe(-DROP_OVERSIZED);
    const forged = Buffer.from(next);
    forged[20]! ^= 1;
    expect(core.receive(forged, 1)).toBe(-DROP_FORGED);
    expect(core.receive(next, 1)).toBe(a.join.index);
    // authenticated but malformed: non-zero padding
    const body = Buffer.alloc(160);
    body[100] = 1;
    expect(core.receive(sealCell(a.up, a.join.session, a.counter++, body), 1)).toBe(-DROP_MALFORMED);
    const d = core.stats.drops;
    expect([d[DROP_GARBAGE], d[DROP_UNKNOWN_SESSION], d[DROP_TRUNCATED], d[DROP_OVERSIZED], d[DROP_REPLAY], d[DROP_FORGED], d[DROP_MALFORMED]]).toEqual([1, 1, 1, 1, 1, 1, 1]);
  });

  it('never throws on 20000 random or mutated cells, and a flood does not disturb a live session', () => {
    const core = makeCore();
    const a = new FakeClient(core, room(1), 'audio', 0);
    const b = new FakeClient(core, room(1), 'audio', 0);
    core.receive(b.cell(), 0);
    let delivered = 0;
    let now = 0;
    for (let t = 0; t < 100; t++) {
      now += 20;
      const real = a.cell([Buffer.from([t])]);
      for (let i = 0; i < 200; i++) {
        const junk = Buffer.from(i % 2 ? real : a.cell());
        junk[(i * 31) % junk.length]! ^= 1 << (i % 8);
        expect(core.receive(i % 3 === 0 ? junk.subarray(0, i % 200) : junk, now - 5)).toBeLessThan(0);
      }
      expect(core.receive(real, now - 5)).toBe(a.join.index);
      core.receive(b.cell(), now - 5);
      const cell = poll(core, now).cells.get(b.join.index)![0]!;
      delivered += media(b.open(cell).records).length;
    }
    expect(delivered).toBe(100);
  });
});
