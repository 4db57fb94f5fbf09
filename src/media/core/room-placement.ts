/**
 * Room placement across cluster nodes, sans-IO (README "Running a cluster"): which node a room should
 * live on, whether this node still holds a room's lease, what a join is answered, and which leases
 * to renew or release. Times are passed in; the Redis side (src/media/store/redis-room-registry.ts)
 * and the timers (src/media/server/room-cluster.ts) live elsewhere.
 *
 * Model: every node registers a record (id, public URL, UDP endpoint, load, draining) under a key
 * with a TTL `leaseTtlMs` it renews every `leaseRenewMs`, and reads back every live record: its
 * `view`. A room (by a hash of its id) maps to one node id under a lease of the same TTL, claimed
 * atomically in Redis for the candidate this core chose (least loaded live, non-draining node) unless
 * a live node already holds it, and renewed by its owner while it has members.
 *
 * Lease time is counted from when the request that granted or renewed it was sent (`sentAtMs`), not
 * from its answer: the local idea of a lease ends no later than Redis's, so a node never serves a
 * room as its own after Redis may have given it to another.
 */

import type { NodeRecord } from '../codec/node-record.js';

export type { NodeRecord };

/** What to do with a join before asking Redis. */
export type JoinPlan =
  /** This node holds the room's lease and the room has members here: serve it, no Redis round trip. */
  | { readonly kind: 'serve' }
  /** Ask Redis who owns the room, offering `candidate` if no live node does (`live`: the node ids believed alive). */
  | { readonly kind: 'place'; readonly candidate: string; readonly live: readonly string[] }
  /** No node may take a new room (all draining, or no live node known). */
  | { readonly kind: 'refuse'; readonly code: 'node_draining' };

/** What a join is answered once Redis named the room's owner. */
export type JoinRoute =
  | { readonly kind: 'serve' }
  /** 409 room_elsewhere with this base URL: the owner's. */
  | { readonly kind: 'redirect'; readonly url: string; readonly node: string }
  | { readonly kind: 'refuse'; readonly code: 'store_unavailable' };

/**
 * The node a new room goes to: fewest sessions, then fewest rooms, then this node (saves the client a
 * redirect), then the smaller id (so every node breaks a tie the same way). Draining nodes never.
 */
export function chooseNode(nodes: readonly NodeRecord[], selfId: string): NodeRecord | undefined {
  let best: NodeRecord | undefined;
  for (const n of nodes) {
    if (n.draining) continue;
    if (best === undefined || lessLoaded(n, best, selfId)) best = n;
  }
  return best;
}

function lessLoaded(a: NodeRecord, b: NodeRecord, selfId: string): boolean {
  if (a.sessions !== b.sessions) return a.sessions < b.sessions;
  if (a.rooms !== b.rooms) return a.rooms < b.rooms;
  if ((a.id === selfId) !== (b.id === selfId)) return a.id === selfId;
  return a.id < b.id;
}

interface RoomState {
  members: number;
  /** This node's lease ends at this time (0: not held). */
  leaseUntil: number;
}

export interface PlacementOptions {
  readonly leaseTtlMs: number;
  readonly leaseRenewMs: number;
}

/** What the renewal tick must send to Redis. */
export interface RenewWork {
  /** Rooms with members whose lease this node renews (or takes back if it lapsed and is free). */
  readonly renew: readonly string[];
  /** Rooms that emptied: their mapping is deleted if this node still holds it. */
  readonly release: readonly string[];
}

export class RoomPlacement {
  private readonly rooms = new Map<string, RoomState>();
  private readonly emptied = new Set<string>();
  private others: NodeRecord[] = [];
  private viewAt = Number.NEGATIVE_INFINITY;
  private nextRenewAt = Number.NEGATIVE_INFINITY;
  /** Takes no new rooms; its own rooms keep their members and take new ones. */
  draining = false;

  constructor(
    readonly self: Omit<NodeRecord, 'sessions' | 'rooms' | 'draining'>,
    private readonly opts: PlacementOptions,
  ) {}

  /** This node's record for its next registration; `sessions` from the data plane. */
  record(sessions: number): NodeRecord {
    let rooms = 0;
    for (const r of this.rooms.values()) if (r.members > 0) rooms++;
    return { ...this.self, sessions, rooms, draining: this.draining };
  }

  /** The live records Redis returned at a registration sent at `sentAtMs` (this node's own among them or not). */
  viewed(nodes: readonly NodeRecord[], sentAtMs: number): void {
    this.others = nodes.filter((n) => n.id !== this.self.id);
    this.viewAt = sentAtMs;
  }

  /** The other nodes believed alive (registration seen within leaseTtlMs); empty when the view is that old. */
  liveOthers(nowMs: number): readonly NodeRecord[] {
    return nowMs - this.viewAt < this.opts.leaseTtlMs ? this.others : [];
  }

  /** True while this node holds the room's lease. */
  holds(room: string, nowMs: number): boolean {
    const r = this.rooms.get(room);
    return r !== undefined && nowMs < r.leaseUntil;
  }

  /** True when the room has members on this node (Redis away: they keep their call, and the room takes joins). */
  holdsMembers(room: string): boolean {
    return (this.rooms.get(room)?.members ?? 0) > 0;
  }

  /** What to do with a join for `room` at `nowMs`; `sessions`: this node's live sessions. */
  plan(room: string, sessions: number, nowMs: number): JoinPlan {
    const r = this.rooms.get(room);
    if (r !== undefined && r.members > 0 && nowMs < r.leaseUntil) return { kind: 'serve' };
    const others = this.liveOthers(nowMs);
    const me = this.record(sessions);
    const chosen = chooseNode([me, ...others], this.self.id);
    if (chosen === undefined) return { kind: 'refuse', code: 'node_draining' };
    // Draining, and no member of the room here: a mapping to this node (placed by a node whose view
    // had not yet seen the drain) is not kept, so the room goes to the candidate instead.
    const keepSelf = !this.draining || (r !== undefined && r.members > 0);
    const live = [...(keepSelf ? [this.self.id] : []), ...others.map((n) => n.id)];
    return { kind: 'place', candidate: chosen.id, live };
  }

  /**
   * Redis answered that `owner` holds `room` (after offering the plan's candidate) for a request
   * sent at `sentAtMs`. This node's own: lease until sentAtMs + leaseTtlMs, serve. Another live node:
   * redirect there (and count the join into that node's load until its next registration, so a burst
   * of new rooms between two views does not all land on one node).
   */
  placed(room: string, owner: string, sentAtMs: number): JoinRoute {
    if (owner === this.self.id) {
      const r = this.rooms.get(room) ?? { members: 0, leaseUntil: 0 };
      r.leaseUntil = sentAtMs + this.opts.leaseTtlMs;
      this.rooms.set(room, r);
      return { kind: 'serve' };
    }
    const i = this.others.findIndex((n) => n.id === owner);
    if (i < 0) return { kind: 'refuse', code: 'store_unavailable' };
    const node = this.others[i]!;
    this.others[i] = { ...node, sessions: node.sessions + 1 };
    return { kind: 'redirect', url: node.url, node: node.id };
  }

  /** A session of `room` was admitted here. */
  joined(room: string): void {
    const r = this.rooms.get(room) ?? { members: 0, leaseUntil: 0 };
    r.members++;
    this.rooms.set(room, r);
    this.emptied.delete(room);
  }

  /** A session of `room` closed here; the last one queues the room's release. */
  left(room: string): void {
    const r = this.rooms.get(room);
    if (r === undefined) return;
    r.members = Math.max(0, r.members - 1);
    if (r.members === 0) {
      this.rooms.delete(room);
      this.emptied.add(room);
    }
  }

  /** Whether the renewal tick is due at `nowMs` (every leaseRenewMs). */
  renewDue(nowMs: number): boolean {
    return nowMs >= this.nextRenewAt;
  }

  /** The tick's work at `nowMs`: renew rooms with members, release emptied ones. Next tick at nowMs + leaseRenewMs. */
  takeRenewWork(nowMs: number): RenewWork {
    this.nextRenewAt = nowMs + this.opts.leaseRenewMs;
    const renew: string[] = [];
    for (const [room, r] of this.rooms) {
      if (r.members > 0) renew.push(room);
      else if (nowMs >= r.leaseUntil) this.rooms.delete(room); // claimed, nobody came: let it lapse
    }
    const release = [...this.emptied];
    this.emptied.clear();
    return { renew, release };
  }

  /** Redis answered a renewal sent at `sentAtMs`: still ours (extended), or another node holds it now. */
  renewed(room: string, held: boolean, sentAtMs: number): void {
    const r = this.rooms.get(room);
    if (r === undefined) return;
    r.leaseUntil = held ? Math.max(r.leaseUntil, sentAtMs + this.opts.leaseTtlMs) : 0;
  }

  /** The next time the tick must run. */
  nextWakeMs(): number {
    return this.nextRenewAt;
  }

  /** Rooms this node holds with members (metrics, graceful release at close). */
  heldRooms(nowMs: number): string[] {
    return [...this.rooms].filter(([, r]) => r.members > 0 && nowMs < r.leaseUntil).map(([room]) => room);
  }
}
