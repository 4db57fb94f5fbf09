/** Test helpers: a MediaCore with fixed randomness, and a fake client sealing cells with node:crypto. */
import { randomBytes, type KeyObject } from 'node:crypto';
import { BodyWriter, parseBody, RecordRefs } from '../../src/media/codec/cell-body.js';
import { CONTROL_SLOT, readCounter } from '../../src/media/codec/cell-layout.js';
import { DEFAULT_PROFILES, parseProfiles, type Profile } from '../../src/media/codec/profiles.js';
import { cellKey, openCell, Opened, OPEN_OK, sealCell } from '../../src/media/crypto/cell-aead.js';
import { MediaCore, type CoreOptions, type JoinResult } from '../../src/media/core/media-core.js';
import type { CellCore } from '../../src/media/dataplane/cell-core.js';
import { NativeCellCore } from '../../src/media/dataplane/native-core.js';
import { testPlane, nativeAddon } from './plane-select.js';

export function profiles(): Profile[] {
  const p = parseProfiles(DEFAULT_PROFILES);
  if (typeof p === 'string') throw new Error(p);
  return p;
}

/** A sans-IO core of the data plane under test (XRELAY_NATIVE, see plane-select.ts). */
export function makeCore(over: Partial<CoreOptions> = {}): CellCore {
  return testPlane() === 'native' ? new NativeCellCore(nativeAddon(), coreOptions(over)) : new MediaCore(coreOptions(over));
}

export function coreOptions(over: Partial<CoreOptions> = {}): CoreOptions {
  let r = 1;
  return {
    profiles: profiles(),
    roomCap: 50,
    maxSessions: 1000,
    queueRecords: 16,
    queueMaxAgeMs: 200,
    idleTimeoutMs: 5000,
    random16: () => (r = (r * 75 + 74) % 65537),
    ...over,
  };
}

export class FakeClient {
  readonly up: KeyObject;
  readonly down: KeyObject;
  readonly join: JoinResult;
  counter = 0;
  private readonly w = new BodyWriter();
  private readonly opened = new Opened();
  private readonly refs = new RecordRefs();

  constructor(core: CellCore, room: Uint8Array, profile: string, nowMs: number) {
    const rx = randomBytes(32);
    const tx = randomBytes(32);
    const j = core.join(room, profile, rx, tx, nowMs);
    if (typeof j === 'string') throw new Error(j);
    this.join = j;
    this.up = cellKey(rx);
    this.down = cellKey(tx);
  }

  /** An uplink cell carrying `payloads` as media records (slot 0) or a dummy. */
  cell(payloads: Uint8Array[] = [], control?: Uint8Array): Buffer {
    const body = new Uint8Array(this.join.profile.upBytes);
    this.w.reset(body);
    if (control) this.w.add(CONTROL_SLOT, control);
    for (const p of payloads) if (!this.w.add(0, p)) throw new Error('does not fit');
    this.w.finish();
    return sealCell(this.up, this.join.session, this.counter++, body);
  }

  /** Opens a downlink cell: its counter and (slot, payload) records, control records included. */
  open(cell: Buffer): { counter: number; records: Array<{ slot: number; data: Buffer }> } {
    if (openCell(this.down, cell, this.opened) !== OPEN_OK) throw new Error('downlink cell did not open');
    const body = this.opened.body;
    if (parseBody(body, this.refs) !== 0) throw new Error('bad body');
    const records = [];
    for (let i = 0; i < this.refs.count; i++) {
      const o = this.refs.offsets[i]!;
      records.push({ slot: this.refs.slots[i]!, data: Buffer.from(body.subarray(o, o + this.refs.lengths[i]!)) });
    }
    return { counter: readCounter(cell), records };
  }
}

export const room = (n: number): Uint8Array => new Uint8Array(32).fill(n);
