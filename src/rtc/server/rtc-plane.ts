/**
 * The WebRTC edge's plane: the signalling routes, the session table, and the glue between werift
 * sessions (peer-session.ts) and the sans-IO room router (core/rtc-router.ts). An uplink RTP packet
 * goes to the router's target list for its sender and kind, then to each receiver's slot: no
 * decoding, no copy of the payload.
 *
 * Logs: lifecycle only (join, leave, close reason), room and session ids through the Redactor,
 * never an address or a member tag; never per packet.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { RtpHeader, RtpPacket } from 'werift';
import { RelayError } from '../../errors.js';
import type { Plane, PlaneContext } from '../../host/plane.js';
import { rateLimitKeyOf } from '../../limits/client-address.js';
import { RateLimiter } from '../../limits/rate-limiter.js';
import { SocketSlots } from '../../limits/socket-slots.js';
import { DownlinkPacer, type PacedSlot } from '../core/downlink-pacer.js';
import type { CellRtpHeader } from '../core/cell-rtp.js';
import { RtcRouter, type RouterAction, type TrackKind } from '../core/rtc-router.js';
import { NegotiationError, NoPortError, PeerSession, type PadRef } from './peer-session.js';
import { registerRtcMetrics, type RtcCloseReason, type RtcMetrics } from './rtc-metrics.js';
import { RtcUdpMux } from './udp-mux.js';
import { deleteHandler, offerHandler, ROOM_ROUTE, SESSION_ROUTE, type OfferRequest, type RouteDeps, type RtcProfile } from './rtc-route.js';

/**
 * Mixed rooms (docs/RTC.md): what a cell bridge gives the edge. The composition root wires one in
 * when the media plane runs too; the edge imports nothing of it.
 */
export interface CellBridgePort {
  /** WebRTC member `member` joined `room` (base64url id): undefined goes on, an error code refuses the join. */
  memberJoined(room: string, profile: RtcProfile, member: number): 'profile_mismatch' | 'room_full' | 'too_many_sessions' | undefined;
  /** The member left (any reason); called once, after the edge's router let it go. */
  memberLeft(member: number): void;
  /** One authenticated audio uplink payload (the member's sealed frame), not kept after the call. */
  uplink(member: number, payload: Buffer): void;
}

/** What the edge gives a cell bridge: cell members in its rooms, and their records into slots. */
export interface RtcMixedPort {
  /** A cell member of room `room` (base64url id); its member id, or undefined when the edge has no such room. */
  addCellMember(room: string): number | undefined;
  removeCellMember(member: number): void;
  /** One record of cell member `from` as an RTP packet on the slot WebRTC member `to` gave it; false when none (counted). */
  deliver(to: number, from: number, h: CellRtpHeader, payload: Buffer): boolean;
}

/**
 * Cluster mode (README "Rooms in a cluster"): the room placement cell joins go through, wired in by
 * the composition root from the media plane; the edge imports nothing of it. One room id space:
 * `room` is the 32 bytes a cell join names.
 */
export interface RtcPlacementPort {
  /** The base URL of the node holding `room`, or undefined when this node serves it; throws RelayError (node_draining, store_unavailable, shutting_down). */
  route(room: Uint8Array): Promise<string | undefined>;
  /**
   * A session of `room` was admitted here (after route said so): it holds the room's lease and
   * counts in the node's load until the returned release (idempotent). `onMoved`: the room's lease
   * went to another node (a lost lease): end the session so its client rejoins there.
   */
  hold(room: Uint8Array, onMoved: () => void): () => void;
}

export interface RtcPlaneOptions {
  /** Cluster mode: joins go through the cluster's room placement. */
  readonly placement?: RtcPlacementPort;
}

export interface RtcPlane extends Plane {
  /** Live sessions (tests). */
  readonly sessionCount: number;
  /** The one UDP port every session uses (rtc.port, or the port picked for 0). */
  readonly udpPort: number;
  /** Sessions and latched 5-tuples in the UDP port's table (tests: both back to 0 when every session closed). */
  readonly udpTable: { readonly sessions: number; readonly tuples: number };
  readonly metricsView: RtcMetrics;
  /** Wires a cell bridge in (mixed rooms); once, before the first join. */
  attachCellBridge(bridge: CellBridgePort): RtcMixedPort;
}

interface Entry {
  readonly id: string;
  readonly member: number;
  readonly room: string;
  readonly addressKey: string;
  readonly openedMs: number;
  /** Lets go of the room's lease hold (cluster mode; a no-op otherwise). */
  readonly release: () => void;
  peer: PeerSession | undefined;
}

const SWEEP_MS = 500;
/**
 * Downlink padding (docs/RTC.md): one Opus frame per period; a forwarded packet may be this late
 * (uplink jitter, a busy loop) before the slot is padded; a late wake-up sends up to this many owed
 * packets per slot (100 ms of lag), so the rate holds over any window longer than that.
 */
const PAD_PERIOD_MS = 20;
const PAD_GRACE_MS = 20;
const PAD_MAX_CATCH_UP = 5;
const OPUS_CLOCK_RATE = 48_000;
const NO_HOLD = (): void => undefined;
/** Sent on the roster channel before a session is ended because its room moved to another node (cluster mode). */
const MOVED_NOTICE = JSON.stringify({ type: 'bye', reason: 'room_moved' });
const MOVED_NOTICE_MS = 250;
/** Remote 5-tuples one session may hold at the UDP port (a client's candidate pairs, a NAT rebinding); more evict the least recently used. */
const MAX_TUPLES_PER_SESSION = 8;
/** Kernel buffers asked for the one UDP socket (every session's traffic queues there; the OS caps it). */
const UDP_BUFFER_BYTES = 4 * 1024 * 1024;

/** `advertisedHost`: the IPv4 address of the ICE candidates (config/validate.ts rtcAdvertisedHost). */
export async function startRtcPlane(ctx: PlaneContext, advertisedHost: string, opts: RtcPlaneOptions = {}): Promise<RtcPlane> {
  const cfg = ctx.config.rtc;
  const log = ctx.logger.child({ plane: 'rtc' });
  const router = new RtcRouter({ roomCap: cfg.roomCap, maxSessions: cfg.maxSessions, keyframeMinIntervalMs: cfg.keyframeMinIntervalMs });
  // Sessions are IPv4 (one IPv4 host candidate): an IPv6 `host` binds the port on the IPv4 wildcard.
  const bindHost = isIP(ctx.config.host) === 4 ? ctx.config.host : '0.0.0.0';
  let mux: RtcUdpMux | undefined;
  const metrics = registerRtcMetrics(ctx.metrics, () => ({ sessions: router.sessionCount, rooms: router.roomCount, muxSessions: mux?.sessionCount ?? 0, muxTuples: mux?.tupleCount ?? 0, muxEvictions: mux?.evictions ?? 0 }));
  const c = metrics.counters;
  mux = await RtcUdpMux.open({ host: bindHost, port: cfg.port, maxTuplesPerSession: MAX_TUPLES_PER_SESSION, bufferBytes: UDP_BUFFER_BYTES }, c.drops, log);
  const udp = mux;
  const sessions = new Map<string, Entry>();
  const byMember = new Map<number, Entry>();
  const perAddress = new SocketSlots(cfg.maxSessionsPerAddress);
  const joinLimiter = new RateLimiter(cfg.joinRatePerSec, cfg.joinBurst);
  const addressKey = rateLimitKeyOf(ctx.clientAddress);
  const peerOptions = { bindHost, advertisedHost, mux: udp };
  let closed = false;
  const pacer = cfg.audioPadding ? new DownlinkPacer({ periodMs: PAD_PERIOD_MS, graceMs: PAD_GRACE_MS, padBytes: cfg.audioPadBytes, clockRate: OPUS_CLOCK_RATE, maxCatchUp: PAD_MAX_CATCH_UP }) : undefined;
  // One timer for every paced slot of the relay, set to the pacer's next deadline.
  let padTimer: NodeJS.Timeout | undefined;
  let padAt = Infinity;
  let padNow = 0;
  const owe = (slot: PacedSlot): void => {
    const ref = slot.ref as PadRef;
    if (ref.peer.sendPadding(ref.mid, padNow)) c.padding++;
  };
  // The timer only wakes the pacer; the decision runs in setImmediate, after the event loop's I/O
  // phase: uplink packets already in the socket buffers are forwarded first, so a busy loop does not
  // pad a slot whose real packet is waiting to be read (timers run before I/O in Node's loop).
  const padRun = (): void => {
    if (pacer === undefined || closed) return;
    padNow = Date.now();
    schedulePad(pacer.poll(padNow, owe));
  };
  const padTick = (): void => {
    padTimer = undefined;
    padAt = Infinity;
    setImmediate(padRun);
  };
  const schedulePad = (at: number): void => {
    if (at === Infinity || at >= padAt) return;
    if (padTimer !== undefined) clearTimeout(padTimer);
    padAt = at;
    padTimer = setTimeout(padTick, Math.max(1, at - Date.now()));
    padTimer.unref();
  };
  let bridge: CellBridgePort | undefined;

  const dispatch = (actions: readonly RouterAction[]): void => {
    for (const a of actions) {
      if (a.type === 'roster') {
        byMember.get(a.member)?.peer?.sendRoster(JSON.stringify({ type: 'slots', epoch: a.epoch, slots: a.slots }));
      } else {
        const sender = byMember.get(a.sender);
        if (sender?.peer === undefined) continue;
        sender.peer.requestKeyframe();
        metrics.keyframe('new_slot');
      }
    }
  };

  const forward = (member: number, kind: TrackKind, rtp: RtpPacket): void => {
    if (kind === 'audio' && bridge !== undefined) bridge.uplink(member, rtp.payload);
    const targets = router.targets(member, kind);
    const source = rtp.header.ssrc;
    const bytes = rtp.payload.length;
    const now = Date.now();
    if (pacer !== undefined && kind === 'audio' && bytes > cfg.audioPadBytes && targets.length > 0) c.padOversize++;
    for (let i = 0; i < targets.length; i++) {
      const t = targets[i]!;
      if (byMember.get(t.receiver)?.peer?.forward(t.mid, rtp, source, now) === true) {
        c.packets[kind]++;
        c.bytes[kind] += bytes;
      } else c.drops.not_connected++;
    }
  };

  const closeSession = async (e: Entry, reason: RtcCloseReason): Promise<void> => {
    if (sessions.get(e.id) !== e) return;
    sessions.delete(e.id);
    byMember.delete(e.member);
    perAddress.release(e.addressKey);
    dispatch(router.leave(e.member));
    bridge?.memberLeft(e.member);
    e.release();
    metrics.closed(reason);
    log.info({ room: ctx.redactor.id(e.room), session: ctx.redactor.id(e.id), reason, sessions: router.sessionCount }, 'rtc session closed');
    await e.peer?.close();
  };

  /** Cluster mode: where the room lives; here, the session holds the room's lease (released on any failure). */
  const open = async (req: IncomingMessage, o: OfferRequest): Promise<{ session: string; answer: string } | { elsewhere: string }> => {
    if (closed) throw new RelayError('shutting_down', 'the relay is shutting down');
    const placement = opts.placement;
    if (placement === undefined) return admit(req, o, NO_HOLD);
    const room = Buffer.from(o.room, 'base64url');
    const elsewhere = await placement.route(room);
    if (elsewhere !== undefined) return { elsewhere };
    if (closed) throw new RelayError('shutting_down', 'the relay is shutting down');
    // The room may move while the peer session is still being set up: remember it, end it once there.
    let entry: Entry | undefined;
    let moved = false;
    const release = placement.hold(room, () => {
      moved = true;
      if (entry !== undefined) void moveOut(entry);
    });
    try {
      const admitted = await admit(req, o, release);
      entry = sessions.get(admitted.session);
      if (moved && entry !== undefined) void moveOut(entry);
      return admitted;
    } catch (err) {
      release();
      throw err;
    }
  };

  /** Tells the client its room lives on another node now (RtcCall: `closed` 'room_moved'), then ends the session. */
  const moveOut = async (e: Entry): Promise<void> => {
    // The notice goes out on SCTP; closing the peer at once could drop it before it is sent.
    if (e.peer?.sendRoster(MOVED_NOTICE) === true) await new Promise((r) => setTimeout(r, MOVED_NOTICE_MS).unref());
    await closeSession(e, 'room_moved');
  };

  const admit = async (req: IncomingMessage, o: OfferRequest, release: () => void): Promise<{ session: string; answer: string }> => {
    const key = addressKey(req);
    if (!perAddress.tryAcquire(key)) throw new RelayError('rate_limited', 'this address holds as many WebRTC sessions as it may (rtc.maxSessionsPerAddress)', { retryAfterSec: 1 });
    const video = o.profile === 'video';
    const tag = randomBytes(8).toString('base64url');
    const joined = router.join(o.room, o.profile, video, o.slots, tag);
    if (typeof joined === 'string') {
      perAddress.release(key);
      throw new RelayError(joined, joined === 'room_full' ? 'the room is at rtc.roomCap' : joined === 'profile_mismatch' ? 'the room uses another profile' : 'the relay holds rtc.maxSessions');
    }
    const refused = bridge?.memberJoined(o.room, o.profile, joined.member);
    if (refused !== undefined) {
      dispatch(router.leave(joined.member));
      perAddress.release(key);
      throw new RelayError(refused, 'the cell room of this id refused the member');
    }
    const e: Entry = { id: randomBytes(16).toString('base64url'), member: joined.member, room: o.room, addressKey: key, openedMs: Date.now(), release, peer: undefined };
    sessions.set(e.id, e);
    byMember.set(e.member, e);
    try {
      e.peer = await PeerSession.open(o.offer, { ...peerOptions, video }, {
        onUplink: (kind, rtp) => forward(e.member, kind, rtp),
        onKeyframeRequest: (mid) => {
          const sender = router.keyframeRequest(e.member, mid, Date.now());
          if (sender === undefined) return metrics.keyframe('suppressed');
          byMember.get(sender)?.peer?.requestKeyframe();
          metrics.keyframe('forwarded');
        },
        onConnected: () => {
          log.debug({ session: ctx.redactor.id(e.id) }, 'rtc session connected');
          const now = Date.now();
          dispatch(router.connected(e.member, now));
          if (pacer !== undefined && e.peer !== undefined) {
            e.peer.pace(pacer, now);
            schedulePad(now + PAD_PERIOD_MS);
          }
        },
        onFailed: () => void closeSession(e, 'failed'),
        onRosterOpen: () => {
          const r = router.roster(e.member);
          if (r !== undefined) e.peer?.sendRoster(JSON.stringify({ type: 'slots', epoch: r.epoch, slots: r.slots }));
        },
        onClientMessage: () => c.drops.client_message++,
        onReplay: () => c.drops.replay++,
        onBadTag: () => c.drops.bad_tag++,
        onBadRecord: () => c.drops.dtls_bad_record++,
      });
    } catch (err) {
      await closeSession(e, 'failed');
      if (err instanceof NegotiationError) {
        metrics.offerRefused('negotiation');
        throw new RelayError('bad_sdp', 'the offer could not be negotiated');
      }
      if (err instanceof NoPortError) throw new RelayError('too_many_sessions', 'no ephemeral UDP port for the gathering socket', { retryAfterSec: 5 });
      throw err;
    }
    if (sessions.get(e.id) !== e) {
      await e.peer.close(); // closed (DELETE, shutdown) while the answer was being made
      throw new RelayError('shutting_down', 'the session was closed while it was being answered');
    }
    dispatch(joined.actions);
    log.info({ room: ctx.redactor.id(o.room), session: ctx.redactor.id(e.id), profile: o.profile, sessions: router.sessionCount }, 'rtc session joined');
    return { session: e.id, answer: e.peer.answer };
  };

  const deps: RouteDeps = {
    maxOfferBytes: cfg.maxOfferBytes,
    maxSlots: Math.min(cfg.receiveSlots, cfg.roomCap - 1),
    joinWait: (req) => joinLimiter.take(addressKey(req), Date.now()),
    open,
    close: async (id) => {
      const e = sessions.get(id);
      if (e === undefined) return false;
      await closeSession(e, 'leave');
      return true;
    },
    onResult: (r) => metrics.join(r),
    onOfferRefused: (r) => metrics.offerRefused(r),
  };
  ctx.http.route('POST', ROOM_ROUTE, offerHandler(deps));
  ctx.http.route('DELETE', SESSION_ROUTE, deleteHandler(deps));

  // Sessions that never connect (ICE or DTLS never completes) and connected ones gone quiet are freed.
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const e of [...sessions.values()]) {
      const p = e.peer;
      if (p === undefined) continue;
      if (!p.connected && now - e.openedMs > cfg.connectTimeoutMs) void closeSession(e, 'connect_timeout');
      else if (p.connected && now - p.lastUplinkMs > cfg.idleTimeoutMs) void closeSession(e, 'idle_timeout');
      else p.sendRemb(cfg.videoMaxKbps * 1000); // video uplinks only (peer-session.ts)
    }
  }, SWEEP_MS);
  sweep.unref();
  log.info({ udpPort: udp.port, roomCap: cfg.roomCap }, 'rtc edge listening');

  const mixed: RtcMixedPort = {
    addCellMember(room) {
      const joined = router.joinExternal(room, randomBytes(8).toString('base64url'));
      if (joined === undefined) return undefined;
      dispatch(joined.actions);
      return joined.member;
    },
    removeCellMember(member) {
      dispatch(router.leave(member));
    },
    deliver(to, from, h, payload) {
      const targets = router.targets(from, 'audio');
      for (let i = 0; i < targets.length; i++) {
        const t = targets[i]!;
        if (t.receiver !== to) continue;
        const rtp = new RtpPacket(new RtpHeader({ payloadType: h.payloadType, marker: h.marker, sequenceNumber: h.sequence, timestamp: h.timestamp, ssrc: h.ssrc }), payload);
        if (byMember.get(to)?.peer?.forward(t.mid, rtp, h.ssrc, Date.now()) !== true) {
          c.drops.not_connected++;
          return false;
        }
        c.packets.audio++;
        c.bytes.audio += payload.length;
        return true;
      }
      return false; // no receive slot for that cell member at `to` (more members than slots): the bridge counts it
    },
  };

  return {
    name: 'rtc',
    get sessionCount() {
      return sessions.size;
    },
    udpPort: udp.port,
    udpTable: {
      get sessions() {
        return udp.sessionCount;
      },
      get tuples() {
        return udp.tupleCount;
      },
    },
    metricsView: metrics,
    attachCellBridge(b) {
      bridge = b;
      return mixed;
    },
    ready: () => !closed,
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      clearInterval(sweep);
      if (padTimer !== undefined) clearTimeout(padTimer);
      await Promise.all([...sessions.values()].map((e) => closeSession(e, 'shutdown')));
      await udp.close();
      log.info('rtc edge closed');
    },
  };
}
