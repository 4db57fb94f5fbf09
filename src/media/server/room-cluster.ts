/**
 * Room placement in cluster mode (`store: redis`): drives core/room-placement.ts with the clock and
 * a timer, and the Redis room registry (src/media/store/redis-room-registry.ts). README "Running a
 * cluster". Every `cluster.leaseRenewMs`: register this node (load, draining) and read the others',
 * renew the leases of its rooms that have members, release the mapping of rooms that emptied.
 *
 * A join asks `route(room)`: served here (the room's lease is this node's), or redirected to the
 * owner's base URL (409 room_elsewhere). Redis away: a room with members here is still served (this
 * node was its owner); a new room is refused 503 store_unavailable (placing it here blind could
 * split a call over two nodes).
 *
 * Members that are not cell sessions (the WebRTC edge's, wired in by the composition root) take
 * part through `hold(room)`: each holds the room's lease like a cell member and counts in the
 * node's load until it lets go.
 *
 * A renewal answered "another node holds it" (Redis was away from this node past the lease, and
 * the room was placed again elsewhere) would leave the call split over two nodes. So this node ends
 * its members of that room at once: cell sessions through `end`, held members through their
 * `onMoved`; clients rejoin through their relay list and land on the owner (409 room_elsewhere).
 */
import { randomBytes } from 'node:crypto';
import { RelayError } from '../../errors.js';
import type { Logger } from '../../observability/log.js';
import type { MetricsRegistry } from '../../observability/metrics.js';
import type { RelayConfig } from '../../config/schema.js';
import { RoomPlacement, type JoinRoute } from '../core/room-placement.js';
import { RedisRoomRegistry, roomHashOf } from '../store/redis-room-registry.js';

export interface RoomClusterDeps {
  readonly config: RelayConfig;
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
  /** Live sessions on this node (its load). */
  readonly sessions: () => number;
  /** True while the node is draining (xrelay drain). */
  readonly draining: () => boolean;
  /** Where this node's cells go. */
  readonly udp: { host: string; port: number };
  /** Ends the cell session at `index` (its room moved to another node); closedSession follows. */
  readonly end: (index: number) => void;
}

export class RoomCluster {
  readonly nodeId = randomBytes(8).toString('hex');
  private readonly registry: RedisRoomRegistry;
  private placement: RoomPlacement | undefined;
  /** Session index -> room hash, for the sessions admitted here. */
  private readonly sessionRooms = new Map<number, string>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private closed = false;
  private readonly placements;
  private readonly renewals;
  private liveNodes = 0;
  /** Members held through hold() (the WebRTC edge's sessions): part of this node's load. */
  private held = 0;
  /** Room hash -> what ends each member held there when the room moves (see the file comment). */
  private readonly movers = new Map<string, Set<() => void>>();
  private readonly movedSessions;

  constructor(private readonly deps: RoomClusterDeps) {
    this.registry = new RedisRoomRegistry(deps.config.redis);
    const m = deps.metrics;
    this.placements = m.counter('xrelay_cluster_joins_total', 'Joins in cluster mode (cell joins and WebRTC offers), by placement result: `local` (this node holds the room), `redirected` (409 room_elsewhere to the owner), `draining`, `unavailable` (Redis did not answer for a new room).', 'result');
    this.renewals = m.counter('xrelay_cluster_leases_total', 'Room lease renewals, by result: `held`, `lost` (another node holds the room now: this node ends its members of the room, who rejoin on the owner; new joins go there), `failed` (Redis did not answer).', 'result');
    this.movedSessions = m.counter('xrelay_cluster_moved_sessions_total', 'Sessions (cell and WebRTC) this node ended because a renewal found their room held by another node (a lost lease): their clients rejoin on the owner, so the call is not split.');
    const nodes = m.gauge('xrelay_cluster_nodes', 'Live nodes in this node\'s last view of the cluster (itself included).');
    const held = m.gauge('xrelay_cluster_rooms_held', 'Rooms this node holds the lease of and has members in.');
    const draining = m.gauge('xrelay_cluster_draining', '1 while this node is draining (takes no new rooms).');
    m.onCollect(() => {
      nodes.set(this.liveNodes);
      held.set(this.placement?.heldRooms(Date.now()).length ?? 0);
      draining.set(deps.draining() ? 1 : 0);
    });
  }

  /** Starts registering once the node's URL is known (after the HTTP server listens). */
  async start(listenUrl: string): Promise<void> {
    const k = this.deps.config.cluster;
    const url = k.publicUrl !== '' ? k.publicUrl : listenUrl;
    this.placement = new RoomPlacement({ id: this.nodeId, url, udp: this.deps.udp }, k);
    await this.tick();
    this.deps.logger.info({ node: this.nodeId, leaseTtlMs: k.leaseTtlMs, leaseRenewMs: k.leaseRenewMs, nodes: this.liveNodes }, 'cluster room placement on');
  }

  /** Where a join for `room` is served (throws RelayError node_draining / store_unavailable). */
  async route(room: Uint8Array): Promise<JoinRoute> {
    // Stopping: its rooms are being released; a join served now would die with the node.
    if (this.closed) throw new RelayError('shutting_down', 'this node is stopping', { retryAfterSec: 1 });
    const p = this.placement;
    if (p === undefined) throw new RelayError('store_unavailable', 'room placement is not ready yet', { retryAfterSec: 1 });
    p.draining = this.deps.draining();
    const hash = roomHashOf(room);
    const sentAt = Date.now();
    const plan = p.plan(hash, this.load(), sentAt);
    if (plan.kind === 'serve') return this.count(plan, 'local');
    if (plan.kind === 'refuse') {
      this.placements.inc(1, 'draining');
      throw new RelayError('node_draining', 'this node is draining and no other node can take the room', { retryAfterSec: 1 });
    }
    let owner: string;
    try {
      owner = await this.registry.place(hash, plan.candidate, plan.live, this.deps.config.cluster.leaseTtlMs);
    } catch {
      if (p.holdsMembers(hash)) return this.count({ kind: 'serve' }, 'local');
      this.placements.inc(1, 'unavailable');
      throw new RelayError('store_unavailable', 'room placement is unavailable (Redis did not answer)', { retryAfterSec: 1 });
    }
    const route = p.placed(hash, owner, sentAt);
    if (route.kind === 'refuse') {
      this.placements.inc(1, 'unavailable');
      throw new RelayError('store_unavailable', 'the room\'s node is not in this node\'s view yet', { retryAfterSec: 1 });
    }
    return this.count(route, route.kind === 'serve' ? 'local' : 'redirected');
  }

  /** A session of `room` was admitted here at `index`. */
  joined(index: number, room: Uint8Array): void {
    const hash = roomHashOf(room);
    this.sessionRooms.set(index, hash);
    this.placement?.joined(hash);
  }

  /**
   * A member of `room` that is not a cell session (a WebRTC edge session) was admitted here after
   * route() said serve: the room's lease is renewed while it is in, and it counts in this node's
   * load. Returns its release (idempotent).
   */
  hold(room: Uint8Array, onMoved: () => void = () => undefined): () => void {
    const hash = roomHashOf(room);
    this.placement?.joined(hash);
    this.held++;
    const movers = this.movers.get(hash) ?? new Set();
    this.movers.set(hash, movers);
    let released = false;
    const mover = (): void => onMoved();
    movers.add(mover);
    return () => {
      if (released) return;
      released = true;
      this.held--;
      movers.delete(mover);
      if (movers.size === 0) this.movers.delete(hash);
      this.placement?.left(hash);
    };
  }

  /** The room's lease is another node's now: end this node's members of it (see the file comment). */
  private moved(hash: string): void {
    const cells: number[] = [];
    for (const [index, h] of this.sessionRooms) if (h === hash) cells.push(index);
    const held = [...(this.movers.get(hash) ?? [])];
    if (cells.length + held.length === 0) return;
    this.movedSessions.inc(cells.length + held.length);
    this.deps.logger.warn({ sessions: cells.length + held.length }, 'a room of this node is held by another node now (Redis was away past its lease): its members here are ended to rejoin there');
    for (const index of cells) this.deps.end(index);
    for (const end of held) end();
  }

  /** The session at `index` closed. */
  closedSession(index: number): void {
    const hash = this.sessionRooms.get(index);
    if (hash === undefined) return;
    this.sessionRooms.delete(index);
    this.placement?.left(hash);
  }

  /** Releases this node's rooms and registration (clients rejoining elsewhere need not wait for the TTL), then disconnects. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    await this.ticking;
    const p = this.placement;
    if (p !== undefined) {
      // Held rooms, and rooms emptied since the last renewal (the WebRTC edge closes its sessions before this).
      const now = Date.now();
      const emptied = p.takeRenewWork(now).release;
      await Promise.all([...p.heldRooms(now), ...emptied].map((room) => this.registry.release(room, this.nodeId).catch(() => undefined)));
      await this.registry.leave(this.nodeId).catch(() => undefined);
    }
    await this.registry.close();
  }

  /** This node's sessions: the data plane's, and the members held through hold(). */
  private load(): number {
    return this.deps.sessions() + this.held;
  }

  private count(route: JoinRoute, result: string): JoinRoute {
    this.placements.inc(1, result);
    return route;
  }

  /** One registration, renewal and release round; schedules the next. */
  private async tick(): Promise<void> {
    const p = this.placement!;
    const ttl = this.deps.config.cluster.leaseTtlMs;
    this.ticking = (async () => {
      p.draining = this.deps.draining();
      const sentAt = Date.now();
      const work = p.takeRenewWork(sentAt);
      const beat = this.registry.heartbeat(p.record(this.load()), ttl).then(
        (nodes) => {
          p.viewed(nodes, sentAt);
          this.liveNodes = nodes.length;
        },
        (err: Error) => this.deps.logger.warn({ err: err.message }, 'cluster registration failed (Redis); retrying at the next renewal'),
      );
      const renewals = work.renew.map((room) =>
        this.registry.renew(room, this.nodeId, ttl).then(
          (held) => {
            p.renewed(room, held, sentAt);
            this.renewals.inc(1, held ? 'held' : 'lost');
            if (!held) this.moved(room);
          },
          () => this.renewals.inc(1, 'failed'),
        ),
      );
      const releases = work.release.map((room) => this.registry.release(room, this.nodeId).catch(() => undefined));
      await Promise.all([beat, ...renewals, ...releases]);
    })();
    await this.ticking;
    if (!this.closed) this.timer = setTimeout(() => void this.tick(), Math.max(0, p.nextWakeMs() - Date.now())).unref();
  }
}
