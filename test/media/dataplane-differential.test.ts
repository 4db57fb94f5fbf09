/**
 * Differential test of the two data planes' cores: the TypeScript MediaCore and the native
 * CellCore (native/src/cell_core.cc) get the same random sequences of joins, cells (valid,
 * dummy, leave, replayed, forged, truncated, oversized, garbage, unknown) and polls at the same
 * injected times, and must answer identically: join results, receive verdicts, wake times, every
 * emitted cell byte for byte (so the same rosters, fan-out, packing, padding, counters and AEAD
 * output), closes, and all counters. Seeded: a failure names its seed.
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BodyWriter } from '../../src/media/codec/cell-body.js';
import { CONTROL_SLOT } from '../../src/media/codec/cell-layout.js';
import { CONTROL_LEAVE } from '../../src/media/codec/control-records.js';
import { cellKey, sealCell } from '../../src/media/crypto/cell-aead.js';
import { DROP_THROTTLED, MediaCore, SendBatch, type JoinResult } from '../../src/media/core/media-core.js';
import type { CellCore } from '../../src/media/dataplane/cell-core.js';
import { NativeCellCore } from '../../src/media/dataplane/native-core.js';
import { seededRng as prng } from '../../src/load/rng.js';
import { coreOptions } from './core-helpers.js';
import { hasNative, nativeAddon } from './plane-select.js';

interface Client {
  join: JoinResult;
  key: KeyObject;
  counter: number;
  sent: Buffer[];
}

function pollBoth(ts: CellCore, nat: CellCore, now: number): { ts: string; nat: string } {
  const dump = (core: CellCore): string => {
    const b = new SendBatch();
    const wake = core.poll(now, b);
    const cells = Array.from({ length: b.count }, (_, i) => `${b.indexes[i]}:${b.cells[i]!.toString('hex')}`);
    const closed = Array.from({ length: b.closedCount }, (_, i) => `${b.closedIndexes[i]}/${b.closedReasons[i]}`);
    return JSON.stringify({ wake, cells, closed });
  };
  return { ts: dump(ts), nat: dump(nat) };
}

function statsOf(core: CellCore, indexes: number[]): string {
  const s = core.stats;
  const per = indexes.map((i) => core.sessionStats(i));
  return JSON.stringify({ s: { ...s, closes: [...s.closes], drops: [...s.drops] }, per, n: core.sessionCount, r: core.roomCount });
}

function runScenario(seed: number, steps: number): MediaCore['stats'] {
  const rand = prng(seed);
  const seq = (): (() => number) => {
    let r = seed;
    return () => (r = (r * 75 + 74) % 65537);
  };
  const over = { roomCap: 6, maxSessions: 24, queueRecords: 1 + Math.floor(rand() * 8), queueMaxAgeMs: 30 + Math.floor(rand() * 200), idleTimeoutMs: 500 + Math.floor(rand() * 1000) };
  const ts = new MediaCore(coreOptions({ ...over, random16: seq() }));
  const nat = new NativeCellCore(nativeAddon(), coreOptions({ ...over, random16: seq() }));
  const profiles = ['audio', 'audio-room', 'video'];
  const clients: Client[] = [];
  const w = new BodyWriter();
  let now = rand() * 50;
  const ctx = (step: number, what: string): string => `seed ${seed} step ${step}: ${what}`;

  for (let step = 0; step < steps; step++) {
    const k = rand();
    if (k < 0.08 || clients.length === 0) {
      const room = new Uint8Array(32).fill(Math.floor(rand() * 5));
      const prof = rand() < 0.05 ? 'nope' : profiles[room[0]! % 3 === 2 && rand() < 0.8 ? 2 : Math.floor(rand() * 2)]!;
      const rx = randomBytes(32);
      const tx = randomBytes(32);
      const a = ts.join(room, prof, rx, tx, now);
      const b = nat.join(room, prof, rx, tx, now);
      expect(JSON.stringify(b), ctx(step, 'join')).toBe(JSON.stringify(a));
      if (typeof a !== 'string') {
        const old = clients.findIndex((c) => c.join.index === a.index);
        if (old >= 0) clients.splice(old, 1);
        clients.push({ join: a, key: cellKey(rx), counter: 0, sent: [] });
      }
    } else if (k < 0.7) {
      const c = clients[Math.floor(rand() * clients.length)]!;
      const body = new Uint8Array(c.join.profile.upBytes);
      w.reset(body);
      const kind = rand();
      if (kind < 0.03) w.add(CONTROL_SLOT, Uint8Array.of(CONTROL_LEAVE));
      else if (kind < 0.75) {
        const n = Math.floor(rand() * 3);
        for (let i = 0; i < n; i++) w.add(0, randomBytes(1 + Math.floor(rand() * 70)));
      }
      w.finish();
      if (rand() < 0.03) body[body.length - 1] = 1; // authentic but malformed (non-zero padding)
      let cell = sealCell(c.key, c.join.session, c.counter, body);
      const m = rand();
      if (m < 0.7) c.counter += 1 + (rand() < 0.1 ? Math.floor(rand() * 40) : 0);
      else if (m < 0.78 && c.sent.length > 0) cell = c.sent[Math.floor(rand() * c.sent.length)]!; // replay
      else if (m < 0.84) cell[12 + Math.floor(rand() * (cell.length - 12))]! ^= 1 << Math.floor(rand() * 8); // forged
      else if (m < 0.88) cell = cell.subarray(0, Math.floor(rand() * cell.length)); // truncated / garbage
      else if (m < 0.92) cell = Buffer.concat([cell, randomBytes(1 + Math.floor(rand() * 30))]); // oversized
      else if (m < 0.96) cell.writeUInt32BE((cell.readUInt32BE(0) ^ 0x10000) >>> 0, 0); // unknown session
      else cell = randomBytes(Math.floor(rand() * 300));
      if (c.sent.length < 40) c.sent.push(cell);
      const a = ts.receive(cell, now);
      const b = nat.receive(cell, now);
      expect(b, ctx(step, 'receive')).toBe(a);
    } else if (k < 0.72) {
      const c = clients[Math.floor(rand() * clients.length)]!;
      const a = ts.leave(c.join.index, new SendBatch());
      const b = nat.leave(c.join.index, new SendBatch());
      expect(b, ctx(step, 'leave')).toBe(a);
    } else {
      const r = rand();
      now += r < 0.5 ? rand() * 25 : r < 0.9 ? Math.floor(rand() * 3) * 5 : r < 0.98 ? rand() * 300 : 1000 + rand() * 2000;
      const out = pollBoth(ts, nat, now);
      expect(out.nat, ctx(step, `poll at ${now}`)).toBe(out.ts);
    }
    if (step % 50 === 0) {
      const idx = clients.map((c) => c.join.index);
      expect(statsOf(nat, idx), ctx(step, 'stats')).toBe(statsOf(ts, idx));
    }
  }
  const idx = clients.map((c) => c.join.index);
  expect(statsOf(nat, idx)).toBe(statsOf(ts, idx));
  return ts.stats;
}

describe.skipIf(!hasNative)('native vs TypeScript core: identical output on random sequences', () => {
  const total = { cellsOut: 0, dummies: 0, recordsOut: 0, queueDrops: 0, stale: 0, missed: 0, closes: [0, 0, 0], drops: [0, 0, 0, 0, 0, 0, 0, 0] };
  it.each([1, 2, 3, 4, 5, 6, 7, 8])('seed %i: joins, cells (valid and hostile), leaves and polls at injected times', (seed) => {
    const s = runScenario(seed, 3000);
    total.cellsOut += s.cellsOut;
    total.dummies += s.dummyCellsOut;
    total.recordsOut += s.recordsOut;
    total.queueDrops += s.queueDrops;
    total.stale += s.staleDrops;
    total.missed += s.missedTicks;
    s.closes.forEach((v, i) => (total.closes[i]! += v));
    s.drops.forEach((v, i) => (total.drops[i]! += v));
  });

  it('the scenarios exercised every path (cells, dummies, fan-out, queue and stale drops, missed ticks, both closes, every drop reason)', () => {
    console.log(`[differential] compared: ${JSON.stringify(total)}`);
    expect(total.cellsOut).toBeGreaterThan(1000);
    expect(total.dummies).toBeGreaterThan(100);
    expect(total.recordsOut).toBeGreaterThan(1000);
    // every drop reason of the shared core contract; `throttled` is the TypeScript plane's OpenGate (no gate here)
    for (const v of [total.queueDrops, total.stale, total.missed, total.closes[1]!, total.closes[2]!, ...total.drops.slice(1, DROP_THROTTLED)]) expect(v).toBeGreaterThan(0);
  });
});

if (!hasNative) console.warn('[differential] native addon not built: skipped (npm run build:native)');
