/**
 * Whether full-rate end-to-end padding fits a room's downlink (docs/PROTOCOL.md §9.1). Sans-IO.
 *
 * With e2e padding every member sends one record per tick (media or a sealed dummy), so each
 * receiver's queue on the relay gets `members - 1` records per tick, and its downlink cell carries
 * at most K of them. Past K + 1 members the queues overflow and the relay, which cannot tell
 * dummies from media, drops media. At exactly K + 1 they are full, so every tick the relay misses
 * leaves a backlog nothing drains (0.1% missed ticks lost 888 of 80 000 records in a sans-IO run):
 * padding therefore needs one spare record per cell, rooms of at most K members. Every member decides from the same inputs (roster size, profile
 * down body, the call's record size), so the whole room suspends and resumes together: a member
 * that kept padding alone would both overflow the others and stand out.
 */
import { BODY_PREFIX_BYTES, MAX_RECORDS, RECORD_HEADER_BYTES } from '../../wire/cell-layout.js';

/** Records of `recordLen` bytes that one downlink body of `downBytes` carries (K). */
export function recordsPerDownCell(downBytes: number, recordLen: number): number {
  return Math.max(0, Math.min(MAX_RECORDS, Math.floor((downBytes - BODY_PREFIX_BYTES) / (RECORD_HEADER_BYTES + recordLen))));
}

/** Largest room in which every member can send one record per tick and receivers keep a spare slot: K. */
export function paddedRoomLimit(downBytes: number, recordLen: number): number {
  return recordsPerDownCell(downBytes, recordLen);
}

export type E2ePaddingReason = 'not_requested' | 'awaiting_roster' | 'room_fits_downlink' | 'room_exceeds_downlink';

export interface E2ePaddingStatus {
  /** The call asked for e2e padding (`e2ePadding: true`). */
  readonly requested: boolean;
  /** Dummies go out at every tick without media. */
  readonly active: boolean;
  readonly reason: E2ePaddingReason;
  /** Room size from the latest roster (0 before the first). */
  readonly members: number;
  /** Largest room size with full-rate e2e padding (K for this profile and record size). */
  readonly capacity: number;
}

export class E2ePaddingGate {
  private current: E2ePaddingStatus;

  constructor(requested: boolean, capacity: number) {
    this.current = { requested, active: false, reason: requested ? 'awaiting_roster' : 'not_requested', members: 0, capacity };
  }

  get status(): E2ePaddingStatus {
    return this.current;
  }

  /**
   * A roster of `members` arrived. Returns the new status when padding was decided for the first
   * time or switched on or off (what the SDK announces), undefined otherwise.
   */
  onRoster(members: number): E2ePaddingStatus | undefined {
    const prev = this.current;
    if (!prev.requested) {
      this.current = { ...prev, members };
      return undefined;
    }
    const active = members <= prev.capacity;
    this.current = { ...prev, active, members, reason: active ? 'room_fits_downlink' : 'room_exceeds_downlink' };
    return prev.reason === 'awaiting_roster' || prev.active !== active ? this.current : undefined;
  }
}
