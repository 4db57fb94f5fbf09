/**
 * The WebRTC edge's room router, sans-IO: rooms, their members, each member's uplink tracks, and
 * which receive slot (m-line, by mid) of each receiver carries which other member's track. No
 * socket, no clock: time comes in as `nowMs`, decisions go out as actions and target lists.
 *
 * Slots: a member offers K audio receive slots (and K video ones in a video room). When a member
 * joins, each other member's uplink takes the first free slot of its kind at the newcomer, and the
 * newcomer's uplink takes one at each of them. When a member leaves, its slots at others are freed
 * and refilled with any member that had none there (a receiver with fewer slots than peers).
 * Every change bumps the room's epoch and sends each member its roster (`roster` action).
 *
 * External members (mixed rooms, docs/RTC.md): a cell member of the same room id, added by the
 * cell bridge. It has no receive slots and no uplink here (the bridge hands its records to each
 * receiver's slot itself); it takes a slot at each browser like any member, and does not count
 * toward `roomCap` or `maxSessions` (the cell plane bounds its own members).
 *
 * Key frames: a receiver's PLI/FIR for a slot becomes a `keyframe` request to the member in that
 * slot, at most one per sender per `keyframeMinIntervalMs` (a lossy receiver cannot make a sender
 * send key frames back to back); a connected receiver given a video slot (on its connect, or a
 * freed slot refilled) always asks the sender for one, so it can decode from its first frames.
 */

export type TrackKind = 'audio' | 'video';

export interface SlotView {
  readonly mid: string;
  /** The opaque tag of the member whose track the slot carries. */
  readonly member: string;
  readonly kind: TrackKind;
}

export interface SlotTarget {
  /** The receiving member. */
  readonly receiver: number;
  readonly mid: string;
}

export type RouterAction =
  | { readonly type: 'roster'; readonly member: number; readonly epoch: number; readonly slots: readonly SlotView[] }
  | { readonly type: 'keyframe'; readonly sender: number };

export type RouterJoinError = 'room_full' | 'profile_mismatch' | 'too_many_sessions';

export interface RouterOptions {
  readonly roomCap: number;
  readonly maxSessions: number;
  readonly keyframeMinIntervalMs: number;
}

interface Slot {
  readonly mid: string;
  readonly kind: TrackKind;
  sender: number; // -1: free
}

interface Member {
  readonly id: number;
  readonly tag: string;
  readonly room: Room;
  readonly slots: Slot[];
  /** Slots (at other members) carrying this member's tracks, by kind. */
  readonly targets: { audio: SlotTarget[]; video: SlotTarget[] };
  lastKeyframeMs: number;
  /** A cell member of a mixed room (no slots, no uplink of its own here). */
  readonly external: boolean;
}

interface Room {
  readonly key: string;
  readonly profile: string;
  readonly video: boolean;
  readonly members: Member[];
  /** Members that are not external (what roomCap bounds). */
  own: number;
  epoch: number;
}

export class RtcRouter {
  private readonly rooms = new Map<string, Room>();
  private readonly members = new Map<number, Member>();
  private nextId = 1;
  private externals = 0;

  constructor(private readonly opts: RouterOptions) {}

  /** WebRTC sessions (external members not counted). */
  get sessionCount(): number {
    return this.members.size - this.externals;
  }

  get roomCount(): number {
    return this.rooms.size;
  }

  /** Admits a member with its receive-slot mids; its id and the actions of the change. */
  join(roomKey: string, profile: string, video: boolean, slots: { audio: readonly string[]; video: readonly string[] }, tag: string): { member: number; actions: RouterAction[] } | RouterJoinError {
    if (this.sessionCount >= this.opts.maxSessions) return 'too_many_sessions';
    let room = this.rooms.get(roomKey);
    if (room !== undefined && room.profile !== profile) return 'profile_mismatch';
    if (room !== undefined && room.own >= this.opts.roomCap) return 'room_full';
    if (room === undefined) {
      room = { key: roomKey, profile, video, members: [], own: 0, epoch: 0 };
      this.rooms.set(roomKey, room);
    }
    room.own++;
    const m: Member = {
      id: this.nextId++,
      tag,
      room,
      slots: [...slots.audio.map((mid) => ({ mid, kind: 'audio' as const, sender: -1 })), ...(video ? slots.video.map((mid) => ({ mid, kind: 'video' as const, sender: -1 })) : [])],
      targets: { audio: [], video: [] },
      lastKeyframeMs: -Infinity,
      external: false,
    };
    room.members.push(m);
    this.members.set(m.id, m);
    // No key-frame request here: the newcomer's uplink starts with a key frame anyway, and its own
    // receive slots can take one only once it is connected (`connected`).
    const none = new Set<number>();
    for (const other of room.members) {
      if (other === m) continue;
      this.fill(other, m, none);
      this.fill(m, other, none);
    }
    return { member: m.id, actions: this.changed(room, new Set()) };
  }

  /**
   * Adds a cell member (mixed rooms) to the existing room `roomKey`: it takes a free audio slot at
   * each member. Its id and the actions; undefined when there is no such room (no WebRTC member).
   */
  joinExternal(roomKey: string, tag: string): { member: number; actions: RouterAction[] } | undefined {
    const room = this.rooms.get(roomKey);
    if (room === undefined) return undefined;
    const m: Member = { id: this.nextId++, tag, room, slots: [], targets: { audio: [], video: [] }, lastKeyframeMs: -Infinity, external: true };
    room.members.push(m);
    this.members.set(m.id, m);
    this.externals++;
    const none = new Set<number>();
    for (const other of room.members) if (other !== m) this.fill(other, m, none);
    return { member: m.id, actions: this.changed(room, none) };
  }

  /** Removes a member (leave, timeout, failure); the actions for those who stay. Unknown ids: none. */
  leave(id: number): RouterAction[] {
    const m = this.members.get(id);
    if (m === undefined) return [];
    this.members.delete(id);
    const room = m.room;
    room.members.splice(room.members.indexOf(m), 1);
    if (m.external) this.externals--;
    else room.own--;
    for (const kind of ['audio', 'video'] as const) {
      for (const t of m.targets[kind]) {
        const slot = this.members.get(t.receiver)?.slots.find((s) => s.mid === t.mid);
        if (slot !== undefined) slot.sender = -1;
      }
    }
    for (const s of m.slots) {
      if (s.sender < 0) continue;
      const sender = this.members.get(s.sender);
      if (sender === undefined) continue;
      const list = sender.targets[s.kind];
      const i = list.findIndex((t) => t.receiver === id && t.mid === s.mid);
      if (i >= 0) list.splice(i, 1);
    }
    if (room.own === 0) {
      // No WebRTC member left: the room goes, with the cell members the bridge had added.
      for (const x of room.members) {
        this.members.delete(x.id);
        this.externals--;
      }
      room.members.length = 0;
      this.rooms.delete(room.key);
      return [];
    }
    // Freed slots take members that had no slot at their receiver (fewer slots than peers).
    const keyframes = new Set<number>();
    for (const receiver of room.members) for (const sender of room.members) if (sender !== receiver) this.fill(receiver, sender, keyframes);
    return this.changed(room, keyframes);
  }

  /**
   * `member`'s transport is up: each sender in its video slots is asked for a key frame, so the
   * newcomer decodes from its first frames (the interval of keyframeRequest starts again).
   */
  connected(id: number, nowMs: number): RouterAction[] {
    const m = this.members.get(id);
    if (m === undefined) return [];
    const actions: RouterAction[] = [];
    for (const s of m.slots) {
      if (s.kind !== 'video' || s.sender < 0) continue;
      this.members.get(s.sender)!.lastKeyframeMs = nowMs;
      actions.push({ type: 'keyframe', sender: s.sender });
    }
    return actions;
  }

  /** Where `sender`'s `kind` track goes: receivers and their slot mids (the hot path reads this, no copy). */
  targets(sender: number, kind: TrackKind): readonly SlotTarget[] {
    return this.members.get(sender)?.targets[kind] ?? NONE;
  }

  /** The member whose track `receiver`'s slot `mid` carries, or undefined (free, unknown). */
  senderOf(receiver: number, mid: string): number | undefined {
    const s = this.members.get(receiver)?.slots.find((x) => x.mid === mid);
    return s === undefined || s.sender < 0 ? undefined : s.sender;
  }

  /**
   * A PLI/FIR from `receiver` on slot `mid`: the sender to ask for a key frame, or undefined
   * (free slot, or that sender was asked less than keyframeMinIntervalMs ago).
   */
  keyframeRequest(receiver: number, mid: string, nowMs: number): number | undefined {
    const sender = this.senderOf(receiver, mid);
    if (sender === undefined) return undefined;
    const m = this.members.get(sender)!;
    if (nowMs - m.lastKeyframeMs < this.opts.keyframeMinIntervalMs) return undefined;
    m.lastKeyframeMs = nowMs;
    return sender;
  }

  /** The roster `member` sees now (what its data channel was last sent). */
  roster(id: number): { epoch: number; slots: SlotView[] } | undefined {
    const m = this.members.get(id);
    if (m === undefined) return undefined;
    return { epoch: m.room.epoch, slots: this.slotViews(m) };
  }

  /** Puts `sender`'s tracks into free slots of `receiver` where it has none yet. */
  private fill(receiver: Member, sender: Member, keyframes: Set<number>): void {
    const kinds: TrackKind[] = receiver.room.video && !sender.external ? ['audio', 'video'] : ['audio'];
    for (const kind of kinds) {
      if (receiver.slots.some((s) => s.kind === kind && s.sender === sender.id)) continue;
      const free = receiver.slots.find((s) => s.kind === kind && s.sender < 0);
      if (free === undefined) continue;
      free.sender = sender.id;
      sender.targets[kind].push({ receiver: receiver.id, mid: free.mid });
      if (kind === 'video') keyframes.add(sender.id);
    }
  }

  private changed(room: Room, keyframes: Set<number>): RouterAction[] {
    room.epoch++;
    const actions: RouterAction[] = [];
    for (const m of room.members) if (!m.external) actions.push({ type: 'roster', member: m.id, epoch: room.epoch, slots: this.slotViews(m) });
    for (const sender of keyframes) actions.push({ type: 'keyframe', sender });
    return actions;
  }

  private slotViews(m: Member): SlotView[] {
    const views: SlotView[] = [];
    for (const s of m.slots) {
      if (s.sender < 0) continue;
      views.push({ mid: s.mid, member: this.members.get(s.sender)!.tag, kind: s.kind });
    }
    return views;
  }
}

const NONE: readonly SlotTarget[] = [];
