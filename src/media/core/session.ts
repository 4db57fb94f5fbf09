/**
 * One participant's session on the relay, and the room it belongs to. Plain state, no behaviour
 * beyond bookkeeping: MediaCore drives them. Per-session counters are kept here (never as metric
 * labels): tests and load reports read them through MediaCore.sessionStats().
 */
import type { KeyObject } from 'node:crypto';
import type { Profile } from '../codec/profiles.js';
import { RecordQueue } from './record-queue.js';
import { ReplayWindow } from './replay-window.js';

export class Room {
  readonly members: Session[] = [];
  /** Grows at every join and leave; clients re-key on it. */
  epoch = 0;
  constructor(
    /** Hex of the 32-byte room id (itself a hash of the room capability). */
    readonly key: string,
    readonly profile: Profile,
  ) {}

  /** Lowest slot no member holds. */
  freeSlot(): number {
    let slot = 0;
    for (;;) {
      let taken = false;
      for (const m of this.members) if (m.slot === slot) taken = true;
      if (!taken) return slot;
      slot++;
    }
  }
}

export interface SessionStats {
  cellsIn: number;
  cellsOut: number;
  dummyCellsOut: number;
  /** Records this session sent that the relay accepted and fanned out. */
  recordsIn: number;
  /** Records delivered to this session. */
  recordsOut: number;
  /** Records dropped from this session's queue (full or too old). */
  queueDrops: number;
}

export class Session {
  readonly window = new ReplayWindow();
  readonly queue: RecordQueue;
  readonly stats: SessionStats = { cellsIn: 0, cellsOut: 0, dummyCellsOut: 0, recordsIn: 0, recordsOut: 0, queueDrops: 0 };
  txCounter = 0;
  /** True once a valid cell arrived: only then does the relay know where to send. */
  confirmed = false;
  rosterDirty = true;
  lastRxMs: number;
  /** Position in MediaCore's per-profile list (swap-remove). */
  listPos = -1;

  constructor(
    readonly index: number,
    readonly id: number,
    readonly room: Room,
    readonly slot: number,
    readonly rxKey: KeyObject,
    readonly txKey: KeyObject,
    queueRecords: number,
    readonly joinedMs: number,
  ) {
    this.queue = new RecordQueue(queueRecords);
    this.lastRxMs = joinedMs;
  }

  get profile(): Profile {
    return this.room.profile;
  }
}
