/**
 * Mixed rooms (docs/RTC.md, "Mixed rooms"): WebRTC members and cell clients in one audio room,
 * without opening the end-to-end layer. The bridge is a cell client of the media plane inside the
 * relay, one per WebRTC member of an audio room:
 *
 *  - at the member's join it joins the cell room of the same id (32 bytes; the edge's base64url id
 *    decoded) through the data plane's own join, with two random hop keys it keeps (the relay is
 *    both ends of that hop; nothing of it goes on a wire), and takes a slot there like any member;
 *  - up: each authenticated audio uplink payload of the member (its sealed SFrame frame, 114 bytes)
 *    becomes one media record of an up cell handed to the data plane as an external sink's cell
 *    would be (`receiveExternal`); cell members' inboxes open it with the frame's RTC key id;
 *  - down: the data plane sends the session one cell per tick through the bridge's sink, as it
 *    would to a cell WebSocket; the bridge opens the hop layer, reads the roster (cell members ->
 *    edge members without slots of their own) and hands each cell member's record, untouched, to
 *    the member's receive slot for that sender with an RTP header made by `CellRtpStreams`.
 *    Records from slots that are the bridge's own (other WebRTC members) are skipped: those reach
 *    the member directly through the edge's router.
 *
 * It rides on the data plane's external-sink contract, so it works unchanged on the native and the
 * TypeScript data planes (the native thread hands a tick's external cells to JS in one batch).
 * Hot path: per tick and member one hop open and a walk over the records; per uplink frame one
 * hop seal. No logging per record; drops are counted in `stats`.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { JoinError, JoinResult } from '../media/core/media-core.js';
import { cellKey, openCell, Opened, OPEN_OK, sealCell } from '../media/crypto/cell-aead.js';
import type { ExternalSink } from '../media/dataplane/data-plane.js';
import type { CellPort } from '../media/server/media-plane.js';
import { CellRtpStreams, emptyCellRtpHeader } from '../rtc/core/cell-rtp.js';
import type { CellBridgePort, RtcMixedPort } from '../rtc/server/rtc-plane.js';
import type { RtcProfile } from '../rtc/server/rtc-route.js';
import { BodyWriter, BODY_OK, parseBody, RecordRefs } from '../wire/cell-body.js';
import { CONTROL_SLOT, HEADER_BYTES, TAG_BYTES } from '../wire/cell-layout.js';
import { CONTROL_LEAVE, CONTROL_ROSTER, parseRoster } from '../wire/control-records.js';

/** Counters of the bridge (relay-internal; exported as metrics by the composition root). */
export interface CellBridgeStats {
  /** Records of cell members handed to a WebRTC member's slot. */
  toRtc: number;
  /** WebRTC audio frames put into the cell room. */
  toCells: number;
  /** WebRTC audio frames not put into the cell room: no cell member was there to hear them. */
  unheard: number;
  /** Dropped: an uplink frame larger than an up cell's record room. */
  oversize: number;
  /** Dropped: the data plane refused a bridge cell (should stay 0). */
  refused: number;
  /** Dropped: a down cell that did not open or parse (should stay 0). */
  badCell: number;
  /** Dropped: a record from a slot the bridge has no member for yet. */
  unknownSlot: number;
  /** Dropped: the WebRTC member had no slot (or transport) for that cell member. */
  noSlot: number;
}

interface Room {
  readonly id: string;
  readonly members: Set<Bridged>;
  /** Cell slots that are the bridge's own (WebRTC members). */
  readonly own: Set<number>;
  /** Own slots of members that left, ignored in rosters until one no longer lists them. */
  readonly departed: Set<number>;
  /** Cell slot -> the edge's id for that cell member. */
  readonly cell: Map<number, number>;
  epoch: number;
}

interface Bridged {
  readonly member: number;
  readonly room: Room;
  readonly session: number;
  readonly slot: number;
  readonly rx: KeyObject; // seals what the bridge sends (the data plane's rx)
  readonly tx: KeyObject; // opens what the data plane sends
  readonly upBody: Uint8Array;
  readonly sink: ExternalSink;
  /** The RTP streams of the cell members this member hears: one per (receiver, sender), each record once. */
  readonly streams: CellRtpStreams;
  counter: number;
  lastUpMs: number;
}

/** Send a dummy up cell when a member sent nothing for this long (the cell session's idle timeout is longer). */
const KEEPALIVE_MS = 1000;

export class CellBridge implements CellBridgePort {
  readonly stats: CellBridgeStats = { toRtc: 0, toCells: 0, unheard: 0, oversize: 0, refused: 0, badCell: 0, unknownSlot: 0, noSlot: 0 };
  private readonly byMember = new Map<number, Bridged>();
  private readonly rooms = new Map<string, Room>();
  private readonly writer = new BodyWriter();
  private readonly refs = new RecordRefs();
  private readonly opened = new Opened();
  private readonly header = emptyCellRtpHeader();
  private edge: RtcMixedPort | undefined;
  private readonly keepalive: NodeJS.Timeout;

  constructor(private readonly cells: CellPort) {
    this.keepalive = setInterval(() => this.keepAlive(), KEEPALIVE_MS);
    this.keepalive.unref();
  }

  /** The edge's side (rtc.attachCellBridge(bridge)). */
  attach(edge: RtcMixedPort): void {
    this.edge = edge;
  }

  get memberCount(): number {
    return this.byMember.size;
  }

  memberJoined(room: string, profile: RtcProfile, member: number): 'profile_mismatch' | 'room_full' | 'too_many_sessions' | undefined {
    if (profile === 'video') return undefined; // mixed rooms are audio rooms
    const rx = randomBytes(32);
    const tx = randomBytes(32);
    const joined: JoinResult | JoinError = this.cells.join(Buffer.from(room, 'base64url'), profile, rx, tx);
    if (joined === 'unknown_profile') return undefined; // no cell profile of that name: the room stays WebRTC-only
    if (typeof joined === 'string') return joined;
    let r = this.rooms.get(room);
    if (r === undefined) {
      r = { id: room, members: new Set(), own: new Set(), departed: new Set(), cell: new Map(), epoch: 0 };
      this.rooms.set(room, r);
    }
    const b: Bridged = {
      member,
      room: r,
      session: joined.session,
      slot: joined.slot,
      rx: cellKey(rx),
      tx: cellKey(tx),
      upBody: new Uint8Array(joined.profile.upBytes),
      sink: { send: (cell) => this.down(b, cell) },
      streams: new CellRtpStreams(joined.profile.tickMs, random32),
      counter: 0,
      lastUpMs: this.cells.now(),
    };
    rx.fill(0);
    tx.fill(0);
    r.members.add(b);
    r.own.add(b.slot);
    r.departed.delete(b.slot);
    this.byMember.set(member, b);
    this.sendUp(b, undefined); // confirms the session and makes the sink its path
    return undefined;
  }

  memberLeft(member: number): void {
    const b = this.byMember.get(member);
    if (b === undefined) return;
    this.byMember.delete(member);
    this.sendUp(b, LEAVE, CONTROL_SLOT);
    this.cells.forgetSink(b.sink);
    const r = b.room;
    r.members.delete(b);
    r.own.delete(b.slot);
    if (r.members.size === 0) {
      this.rooms.delete(r.id); // the edge dropped the room and its cell members with its last member
      return;
    }
    r.departed.add(b.slot);
  }

  /**
   * A WebRTC member's audio frame. Into the cell room only when a cell member is there to hear it
   * (the room's WebRTC members hear each other through the edge's router): a room of browsers alone
   * costs no hop seal, no data-plane open and no fan-out per frame (measured: ~20% of the edge's CPU
   * per forwarded packet, docs/RTC.md "Performance"). The cell session stays alive on the
   * keepalive's dummy cells, and a cell member that joins is in the next roster (one tick).
   */
  uplink(member: number, payload: Buffer): void {
    const b = this.byMember.get(member);
    if (b === undefined) return;
    if (b.room.cell.size > 0) return this.sendUp(b, payload);
    const w = this.writer;
    w.reset(b.upBody);
    if (w.add(0, payload)) this.stats.unheard++;
    else this.stats.oversize++;
  }

  close(): void {
    clearInterval(this.keepalive);
  }

  /** One up cell with `payload` as its record (undefined: a dummy cell). */
  private sendUp(b: Bridged, payload: Uint8Array | undefined, slot = 0): void {
    const w = this.writer;
    w.reset(b.upBody);
    if (payload !== undefined && !w.add(slot, payload)) {
      this.stats.oversize++;
      return;
    }
    w.finish();
    const cell = sealCell(b.rx, b.session, b.counter++, b.upBody);
    b.lastUpMs = this.cells.now();
    if (this.cells.receiveExternal(cell, b.sink) < 0) this.stats.refused++;
    else if (payload !== undefined && slot === 0) this.stats.toCells++;
  }

  /** One down cell of member `b`'s cell session (the data plane's pacer, one per tick). */
  private down(b: Bridged, cell: Buffer): void {
    if (cell.length < HEADER_BYTES + TAG_BYTES || openCell(b.tx, cell, this.opened) !== OPEN_OK || parseBody(this.opened.body, this.refs) !== BODY_OK) {
      this.stats.badCell++;
      return;
    }
    const body = this.opened.body; // a fresh buffer per open: record slices may be kept
    const refs = this.refs;
    const r = b.room;
    const now = this.cells.now();
    for (let i = 0; i < refs.count; i++) {
      const slot = refs.slots[i]!;
      const rec = body.subarray(refs.offsets[i]!, refs.offsets[i]! + refs.lengths[i]!);
      if (slot === CONTROL_SLOT) {
        if (rec[0] === CONTROL_ROSTER) this.roster(r, rec);
        continue;
      }
      if (r.own.has(slot) || r.departed.has(slot)) continue; // WebRTC to WebRTC goes through the edge's router
      const from = r.cell.get(slot);
      if (from === undefined || this.edge === undefined) {
        this.stats.unknownSlot++;
        continue;
      }
      b.streams.next(from, now, this.header);
      if (this.edge.deliver(b.member, from, this.header, rec)) this.stats.toRtc++;
      else this.stats.noSlot++;
    }
  }

  /** A roster of the cell room: cell members that came get an edge member, those gone lose theirs. */
  private roster(r: Room, rec: Uint8Array): void {
    const roster = parseRoster(rec);
    if (roster === undefined || roster.epoch <= r.epoch || this.edge === undefined) return;
    r.epoch = roster.epoch;
    const listed = new Set(roster.slots);
    for (const slot of r.departed) if (!listed.has(slot)) r.departed.delete(slot);
    for (const [slot, id] of r.cell) {
      if (listed.has(slot)) continue;
      r.cell.delete(slot);
      for (const m of r.members) m.streams.end(id);
      this.edge.removeCellMember(id);
    }
    for (const slot of roster.slots) {
      if (r.own.has(slot) || r.departed.has(slot) || r.cell.has(slot)) continue;
      const id = this.edge.addCellMember(r.id);
      if (id !== undefined) r.cell.set(slot, id);
    }
  }

  private keepAlive(): void {
    const now = this.cells.now();
    for (const b of this.byMember.values()) if (now - b.lastUpMs >= KEEPALIVE_MS) this.sendUp(b, undefined);
  }
}

const LEAVE = new Uint8Array([CONTROL_LEAVE]);
const random32 = (): number => randomInt(0, 0x1_0000_0000);
