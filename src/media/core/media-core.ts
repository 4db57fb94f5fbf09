/**
 * The media plane's sans-IO core: rooms, sessions, anti-replay, fan-out and the pacer.
 *
 * Nothing here reads a clock or touches a socket. The server layer feeds it received cells with
 * `receive(cell, nowMs)`, calls `poll(nowMs, batch)` when the returned wake time comes, and sends
 * what the batch holds to each session's current path (UDP address or WebSocket). Integers and
 * buffers in, integers and buffers out, so a native data plane can mirror it (issue 4).
 *
 * Pacing: sessions of one profile share a tick grid (multiples of tickMs on the caller's clock).
 * At each grid point every confirmed session gets exactly one cell of its profile's downlink size:
 * its roster if the room changed, then queued records in FIFO order while they fit, zero padding
 * otherwise (a dummy when no record fits). A record waits at most one tick unless the receiver's
 * queue is backlogged. If the caller wakes late past whole ticks, those ticks are skipped and
 * counted (never a burst), so the wire keeps its cadence.
 */
import { BodyWriter, parseBody, RecordRefs, BODY_OK } from '../codec/cell-body.js';
import { CONTROL_SLOT, readCounter, readSession, wireBytes, RECORD_HEADER_BYTES } from '../codec/cell-layout.js';
import { CONTROL_LEAVE, rosterBytes, writeRoster } from '../codec/control-records.js';
import type { Profile } from '../codec/profiles.js';
import { cellKey, openCell, Opened, OPEN_OK, sealCell } from '../crypto/cell-aead.js';
import type { OpenGate } from './open-guard.js';
import { Room, Session, type SessionStats } from './session.js';

/** receive() result codes below zero; the index of the accepting session otherwise. */
export const DROP_GARBAGE = 1;
export const DROP_UNKNOWN_SESSION = 2;
export const DROP_TRUNCATED = 3;
export const DROP_OVERSIZED = 4;
export const DROP_REPLAY = 5;
export const DROP_FORGED = 6;
export const DROP_MALFORMED = 7;
/** Refused before the AEAD open by the caller's OpenGate (the TypeScript plane's flood guard). */
export const DROP_THROTTLED = 8;
export const DROP_REASONS = ['', 'garbage', 'unknown_session', 'truncated', 'oversized', 'replay', 'forged', 'malformed', 'throttled'] as const;

export const CLOSE_LEAVE = 1;
export const CLOSE_IDLE = 2;
export const CLOSE_REASONS = ['', 'leave', 'idle'] as const;

/**
 * Join refusals, the one table: names (the join route's error codes) and the native core's return
 * codes (native/src/cell_core.h, enum JoinError, kJoin + the name in CamelCase; test/native/layouts.test.ts
 * parses it and compares).
 */
export const JOIN_ERRORS = { unknown_profile: -1, profile_mismatch: -2, room_full: -3, too_many_sessions: -4 } as const;
export type JoinError = keyof typeof JOIN_ERRORS;

export interface CoreOptions {
  readonly profiles: readonly Profile[];
  readonly roomCap: number;
  readonly maxSessions: number;
  readonly queueRecords: number;
  readonly queueMaxAgeMs: number;
  readonly idleTimeoutMs: number;
  /** Source of the random upper 16 bits of session ids (a CSPRNG on the relay, fixed in tests). */
  readonly random16: () => number;
}

export interface JoinResult {
  readonly session: number;
  readonly index: number;
  readonly slot: number;
  readonly epoch: number;
  readonly profile: Profile;
}

export class CoreStats {
  cellsIn = 0;
  cellsOut = 0;
  dummyCellsOut = 0;
  recordsIn = 0;
  recordsOut = 0;
  queueDrops = 0;
  staleDrops = 0;
  missedTicks = 0;
  joins = 0;
  closes = new Float64Array(CLOSE_REASONS.length);
  drops = new Float64Array(DROP_REASONS.length);
}

/** What one poll() asks the caller to do: send cells[i] to session index indexes[i]; forget closed ones. */
export class SendBatch {
  count = 0;
  readonly indexes: number[] = [];
  readonly cells: Buffer[] = [];
  closedCount = 0;
  readonly closedIndexes: number[] = [];
  readonly closedReasons: number[] = [];

  reset(): void {
    for (let i = 0; i < this.count; i++) this.cells[i] = EMPTY;
    this.count = 0;
    this.closedCount = 0;
  }

  push(index: number, cell: Buffer): void {
    this.indexes[this.count] = index;
    this.cells[this.count++] = cell;
  }

  pushClosed(index: number, reason: number): void {
    this.closedIndexes[this.closedCount] = index;
    this.closedReasons[this.closedCount++] = reason;
  }
}
const EMPTY = Buffer.alloc(0);

export class MediaCore {
  readonly stats = new CoreStats();
  private readonly table: Array<Session | undefined> = [];
  private readonly free: number[] = [];
  private readonly rooms = new Map<string, Room>();
  private readonly byProfile: Session[][];
  private readonly nextTick: number[];
  private readonly bodies: Uint8Array[];
  private readonly writer = new BodyWriter();
  private readonly refs = new RecordRefs();
  private readonly opened = new Opened();
  private readonly rosterBuf: Uint8Array;
  private readonly rosterSlots: Uint16Array;
  private liveCount = 0;
  /** Closes decided in receive() (in-band leave), reported at the next poll. */
  private readonly pendingClose: number[] = [];

  constructor(readonly opts: CoreOptions) {
    this.byProfile = opts.profiles.map(() => []);
    this.nextTick = opts.profiles.map(() => Infinity);
    this.bodies = opts.profiles.map((p) => new Uint8Array(p.downBytes));
    this.rosterBuf = new Uint8Array(rosterBytes(opts.roomCap));
    this.rosterSlots = new Uint16Array(opts.roomCap);
  }

  get sessionCount(): number {
    return this.liveCount;
  }

  get roomCount(): number {
    return this.rooms.size;
  }

  profile(name: string): Profile | undefined {
    return this.opts.profiles.find((p) => p.name === name);
  }

  /** Admits a session (control plane). `rx`/`tx` are the relay's hop keys for it. */
  join(roomId: Uint8Array, profileName: string, rx: Uint8Array, tx: Uint8Array, nowMs: number): JoinResult | JoinError {
    const profile = this.profile(profileName);
    if (profile === undefined) return 'unknown_profile';
    const key = Buffer.from(roomId).toString('hex');
    let room = this.rooms.get(key);
    if (room !== undefined && room.profile !== profile) return 'profile_mismatch';
    if (room !== undefined && room.members.length >= this.opts.roomCap) return 'room_full';
    if (this.liveCount >= this.opts.maxSessions) return 'too_many_sessions';
    if (room === undefined) {
      room = new Room(key, profile);
      this.rooms.set(key, room);
    }
    const index = this.free.pop() ?? this.table.length;
    const id = ((((this.opts.random16() & 0xffff) || 1) << 16) | index) >>> 0;
    const s = new Session(index, id, room, room.freeSlot(), cellKey(rx), cellKey(tx), this.opts.queueRecords, nowMs);
    this.table[index] = s;
    room.members.push(s);
    room.epoch++;
    for (const m of room.members) m.rosterDirty = true;
    const list = this.byProfile[profile.id]!;
    s.listPos = list.length;
    list.push(s);
    if (list.length === 1) this.nextTick[profile.id] = Math.ceil(nowMs / profile.tickMs) * profile.tickMs;
    this.liveCount++;
    this.stats.joins++;
    return { session: id, index, slot: s.slot, epoch: room.epoch, profile };
  }

  /** Per-session counters of a live session (by table index), for tests and reports. */
  sessionStats(index: number): Readonly<SessionStats> | undefined {
    return this.table[index]?.stats;
  }

  /** Wire session id of a live table index, or -1. */
  sessionId(index: number): number {
    return this.table[index]?.id ?? -1;
  }

  /**
   * Handles one received cell. Returns the accepting session's table index (>= 0) or minus a
   * DROP_* code. Never throws; every drop is counted in stats.drops. `gate`, when given, is asked
   * after the cheap checks and before the AEAD open (the only costly step), and may refuse.
   */
  receive(cell: Uint8Array, nowMs: number, gate?: OpenGate): number {
    const code = this.accept(cell, nowMs, gate);
    if (code < 0) this.stats.drops[-code]!++;
    return code;
  }

  private accept(cell: Uint8Array, nowMs: number, gate: OpenGate | undefined): number {
    const id = readSession(cell);
    if (id < 0) return -DROP_GARBAGE;
    const s = this.table[id & 0xffff];
    if (s === undefined || s.id !== id) return -DROP_UNKNOWN_SESSION;
    const expected = wireBytes(s.profile.upBytes);
    if (cell.length < expected) return -DROP_TRUNCATED;
    if (cell.length > expected) return -DROP_OVERSIZED;
    const counter = readCounter(cell);
    if (counter < 0 || !s.window.check(counter)) return -DROP_REPLAY;
    if (gate !== undefined && !gate.admit(s.index, nowMs)) return -DROP_THROTTLED;
    if (openCell(s.rxKey, cell, this.opened) !== OPEN_OK) return -DROP_FORGED;
    const body = this.opened.body;
    const refs = this.refs;
    if (parseBody(body, refs) !== BODY_OK) return -DROP_MALFORMED;
    s.window.commit(counter);
    s.lastRxMs = nowMs;
    s.confirmed = true;
    s.stats.cellsIn++;
    this.stats.cellsIn++;
    const members = s.room.members;
    for (let r = 0; r < refs.count; r++) {
      const off = refs.offsets[r]!;
      const len = refs.lengths[r]!;
      if (refs.slots[r] === CONTROL_SLOT) {
        if (body[off] === CONTROL_LEAVE && this.pendingClose.indexOf(s.index) < 0) this.pendingClose.push(s.index);
        continue;
      }
      const payload = body.subarray(off, off + len);
      s.stats.recordsIn++;
      this.stats.recordsIn++;
      for (let m = 0; m < members.length; m++) {
        const to = members[m]!;
        if (to === s) continue;
        if (to.queue.push(s.slot, payload, nowMs) === 1) {
          to.stats.queueDrops++;
          this.stats.queueDrops++;
        }
      }
    }
    return s.index;
  }

  /** Ends a session now (explicit leave through the control plane). */
  leave(index: number, batch: SendBatch): boolean {
    const s = this.table[index];
    if (s === undefined) return false;
    this.close(s, CLOSE_LEAVE, batch);
    return true;
  }

  /**
   * Emits every cell due at `nowMs` into `batch` (after batch.reset() by the caller) and returns
   * the next time poll() must run (Infinity when no session is live).
   */
  poll(nowMs: number, batch: SendBatch): number {
    while (this.pendingClose.length > 0) {
      const s = this.table[this.pendingClose.pop()!];
      if (s !== undefined) this.close(s, CLOSE_LEAVE, batch);
    }
    let wake = Infinity;
    for (let p = 0; p < this.byProfile.length; p++) {
      const list = this.byProfile[p]!;
      if (list.length === 0) {
        this.nextTick[p] = Infinity;
        continue;
      }
      const tick = this.opts.profiles[p]!.tickMs;
      let next = this.nextTick[p]!;
      if (nowMs >= next) {
        const behind = Math.floor((nowMs - next) / tick);
        this.stats.missedTicks += behind;
        next += (behind + 1) * tick;
        this.nextTick[p] = next;
        for (let i = list.length - 1; i >= 0; i--) {
          const s = list[i]!;
          if (nowMs - s.lastRxMs > this.opts.idleTimeoutMs) this.close(s, CLOSE_IDLE, batch);
          else if (s.confirmed) this.emit(s, p, nowMs, batch);
        }
      }
      if (list.length > 0 && next < wake) wake = next;
    }
    return wake;
  }

  private emit(s: Session, p: number, nowMs: number, batch: SendBatch): void {
    const w = this.writer;
    w.reset(this.bodies[p]!);
    if (s.rosterDirty) {
      const room = s.room;
      for (let i = 0; i < room.members.length; i++) this.rosterSlots[i] = room.members[i]!.slot;
      const n = writeRoster(this.rosterBuf, room.epoch, s.slot, this.rosterSlots, room.members.length);
      if (w.add(CONTROL_SLOT, this.rosterBuf, 0, n)) s.rosterDirty = false;
    }
    const q = s.queue;
    while (q.size > 0) {
      if (nowMs - q.peekTime() > this.opts.queueMaxAgeMs) {
        q.shift();
        s.stats.queueDrops++;
        this.stats.staleDrops++;
        continue;
      }
      if (!w.add(q.peekSlot(), q.peekPayload())) break;
      q.shift();
      s.stats.recordsOut++;
      this.stats.recordsOut++;
    }
    const records = w.finish();
    const cell = sealCell(s.txKey, s.id, s.txCounter++, this.bodies[p]!);
    batch.push(s.index, cell);
    s.stats.cellsOut++;
    this.stats.cellsOut++;
    if (records === 0) {
      s.stats.dummyCellsOut++;
      this.stats.dummyCellsOut++;
    }
  }

  private close(s: Session, reason: number, batch: SendBatch): void {
    if (this.table[s.index] !== s) return;
    this.table[s.index] = undefined;
    this.free.push(s.index);
    const list = this.byProfile[s.profile.id]!;
    const last = list.pop()!;
    if (last !== s) {
      list[s.listPos] = last;
      last.listPos = s.listPos;
    }
    const room = s.room;
    room.members.splice(room.members.indexOf(s), 1);
    if (room.members.length === 0) this.rooms.delete(room.key);
    else {
      room.epoch++;
      for (const m of room.members) m.rosterDirty = true;
    }
    s.queue.clear();
    this.liveCount--;
    this.stats.closes[reason]!++;
    batch.pushClosed(s.index, reason);
  }
}
