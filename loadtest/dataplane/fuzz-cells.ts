/**
 * Differential fuzzer of the cell decoders: the native one (native/src/cell_codec.cc, through the
 * addon) against the TypeScript one (src/media/codec/cell-body.ts), on random and mutated bodies,
 * and whole cells through both cores (random, mutated, and authentic cells sealing mutated bodies
 * so the body parser behind the AEAD is reached). Any difference in result code or in the records
 * found is a mismatch. Deterministic for a seed.
 *
 *   npm run fuzz:cells -- [cases=1000000] [seed=1]
 */
import { randomBytes } from 'node:crypto';
import { BodyWriter, parseBody, RecordRefs } from '../../src/media/codec/cell-body.js';
import { MAX_RECORDS } from '../../src/media/codec/cell-layout.js';
import { DEFAULT_PROFILES, parseProfiles, type Profile } from '../../src/media/codec/profiles.js';
import { cellKey, sealCell } from '../../src/media/crypto/cell-aead.js';
import { MediaCore, SendBatch, type CoreOptions } from '../../src/media/core/media-core.js';
import type { NativeAddon } from '../../src/native/addon.js';
import { NativeCellCore } from '../../src/media/dataplane/native-core.js';
import { seededRng as prng } from '../../src/load/rng.js';


export interface FuzzReport {
  cases: number;
  bodiesOk: number;
  cellsAccepted: number;
  mismatches: string[];
}

function validBody(rand: () => number, size: number, w: BodyWriter): Uint8Array {
  const body = new Uint8Array(size);
  w.reset(body);
  const n = Math.floor(rand() * 6);
  for (let i = 0; i < n; i++) {
    const len = 1 + Math.floor(rand() * Math.min(300, size));
    const slot = rand() < 0.2 ? 0xffff : Math.floor(rand() * 70000) & 0xffff;
    const p = new Uint8Array(len);
    for (let k = 0; k < len; k++) p[k] = (rand() * 256) | 0;
    w.add(slot, p);
  }
  w.finish();
  return body;
}

function mutate(rand: () => number, src: Uint8Array): Uint8Array {
  let b: Uint8Array = Uint8Array.from(src);
  const ops = 1 + Math.floor(rand() * 3);
  for (let o = 0; o < ops; o++) {
    const r = rand();
    if (b.length === 0) b = new Uint8Array(1 + Math.floor(rand() * 64));
    const at = Math.floor(rand() * b.length);
    if (r < 0.3) b[at] = b[at]! ^ (1 << Math.floor(rand() * 8));
    else if (r < 0.45) b[0] = [0, 1, 2, 254, 255, (rand() * 256) | 0][Math.floor(rand() * 6)]!;
    else if (r < 0.6 && b.length > 4) {
      // a record length field to an edge value
      const v = [0, 1, 0xffff, b.length - at, b.length - at - 3, (rand() * 0x10000) | 0][Math.floor(rand() * 6)]! & 0xffff;
      const p = Math.min(at, b.length - 2);
      b[p] = v >>> 8;
      b[p + 1] = v & 0xff;
    } else if (r < 0.7) b = b.subarray(0, at);
    else if (r < 0.8) {
      const ext = new Uint8Array(b.length + 1 + Math.floor(rand() * 8));
      ext.set(b);
      if (rand() < 0.5) ext[ext.length - 1] = 1;
      b = ext;
    } else b[at] = (rand() * 256) | 0;
  }
  return b;
}

function profiles(): Profile[] {
  const p = parseProfiles(DEFAULT_PROFILES);
  if (typeof p === 'string') throw new Error(p);
  return p;
}

/** Runs `cases` differential cases (about half bodies, half cells). */
export function fuzzCells(addon: NativeAddon, cases: number, seed = 1): FuzzReport {
  const rand = prng(seed);
  const report: FuzzReport = { cases: 0, bodiesOk: 0, cellsAccepted: 0, mismatches: [] };
  const refs = new RecordRefs();
  const out = new Int32Array(1 + 3 * MAX_RECORDS);
  const w = new BodyWriter();
  const miss = (what: string, bytes: Uint8Array): void => {
    if (report.mismatches.length < 20) report.mismatches.push(`${what}: ${Buffer.from(bytes).toString('hex').slice(0, 200)}`);
  };
  // Two cores with the same sessions: every cell must get the same verdict from both.
  const seq = (): (() => number) => {
    let r = 7;
    return () => (r = (r * 75 + 74) % 65537);
  };
  const opts: CoreOptions = { profiles: profiles(), roomCap: 50, maxSessions: 64, queueRecords: 16, queueMaxAgeMs: 200, idleTimeoutMs: 1e12, random16: seq() };
  const ts = new MediaCore(opts);
  const nat = new NativeCellCore(addon, { ...opts, random16: seq() });
  const sessions: Array<{ id: number; up: Profile; key: ReturnType<typeof cellKey>; counter: number }> = [];
  for (let i = 0; i < 6; i++) {
    const room = new Uint8Array(32).fill(i >> 1);
    const prof = opts.profiles[(i >> 1) % 3]!.name;
    const rx = randomBytes(32);
    const tx = randomBytes(32);
    const a = ts.join(room, prof, rx, tx, 0);
    const b = nat.join(room, prof, rx, tx, 0);
    if (typeof a === 'string' || typeof b === 'string' || a.session !== b.session) throw new Error('cores disagree on join');
    sessions.push({ id: a.session, up: a.profile, key: cellKey(rx), counter: 0 });
  }
  const batch = new SendBatch();
  let now = 1;
  for (let c = 0; c < cases; c++) {
    report.cases++;
    if (c % 2 === 0) {
      const size = rand() < 0.1 ? Math.floor(rand() * 1500) : [160, 480, 1120, 1200, 64][Math.floor(rand() * 5)]!;
      const body = rand() < 0.15 ? randomBytes(size) : rand() < 0.3 ? validBody(rand, size || 1, w) : mutate(rand, validBody(rand, size || 1, w));
      const a = parseBody(body, refs);
      const b = addon.parseBody(body, out);
      if (a !== b) miss(`body code ts=${a} native=${b}`, body);
      else if (a === 0) {
        report.bodiesOk++;
        if (out[0] !== refs.count) miss('record count', body);
        for (let i = 0; i < refs.count; i++) {
          if (out[1 + 3 * i] !== refs.slots[i] || out[2 + 3 * i] !== refs.offsets[i] || out[3 + 3 * i] !== refs.lengths[i]) {
            miss(`record ${i}`, body);
            break;
          }
        }
      }
    } else {
      const s = sessions[Math.floor(rand() * sessions.length)]!;
      const k = rand();
      let cell: Uint8Array;
      if (k < 0.35) {
        // authentic cell around a mutated body: reaches the body parser behind the AEAD
        cell = sealCell(s.key, s.id, s.counter++, rand() < 0.5 ? validBody(rand, s.up.upBytes, w) : mutate(rand, validBody(rand, s.up.upBytes, w)).subarray(0, s.up.upBytes));
        if (cell.length !== s.up.upBytes + 28) cell = mutate(rand, cell);
      } else if (k < 0.8) cell = mutate(rand, sealCell(s.key, s.id, Math.floor(rand() * (s.counter + 5)), validBody(rand, s.up.upBytes, w)));
      else cell = randomBytes(Math.floor(rand() * 1500));
      const a = ts.receive(cell, now);
      const b = nat.receive(cell, now);
      if (a !== b) miss(`cell verdict ts=${a} native=${b}`, cell);
      if (a >= 0) report.cellsAccepted++;
      if (c % 64 === 1) {
        // drain queues in both (and compare the emitted bytes) so memory stays bounded
        now += 20;
        batch.reset();
        ts.poll(now, batch);
        const tsCells = batch.cells.slice(0, batch.count).map((x) => Buffer.from(x).toString('hex'));
        batch.reset();
        nat.poll(now, batch);
        const natCells = batch.cells.slice(0, batch.count).map((x) => Buffer.from(x).toString('hex'));
        if (tsCells.join() !== natCells.join()) miss('poll output', new Uint8Array(0));
      }
    }
  }
  const sa = ts.stats;
  const sb = nat.stats;
  if (JSON.stringify([...sa.drops, sa.cellsIn, sa.recordsIn]) !== JSON.stringify([...sb.drops, sb.cellsIn, sb.recordsIn])) report.mismatches.push('final stats differ');
  return report;
}

async function main(): Promise<void> {
  const { loadNativeAddon } = await import('../../src/native/addon.js');
  const { addon, reason } = loadNativeAddon();
  if (addon === undefined) {
    console.error(`fuzz:cells needs the native addon: ${reason}`);
    process.exit(2);
  }
  const cases = Number(process.argv[2] ?? 1_000_000);
  const seed = Number(process.argv[3] ?? 1);
  const t0 = performance.now();
  const rep = fuzzCells(addon, cases, seed);
  const s = ((performance.now() - t0) / 1000).toFixed(1);
  console.log(`fuzz:cells seed=${seed}: ${rep.cases} cases in ${s} s (${rep.bodiesOk} well-formed bodies, ${rep.cellsAccepted} cells accepted), ${rep.mismatches.length} mismatches`);
  for (const m of rep.mismatches) console.log('  ' + m);
  process.exit(rep.mismatches.length === 0 ? 0 : 1);
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) void main();
