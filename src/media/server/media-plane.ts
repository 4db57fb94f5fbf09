/**
 * The media plane's shell: the join route, the WebSocket cell fallback, metrics and logs, over a
 * DataPlane (src/media/dataplane) that owns the UDP socket, the pacer and the cell hot path: the
 * native addon when available, the TypeScript MediaCore otherwise. One log line says which serves.
 *
 * Logs: lifecycle only (start, join, close), with room and session ids through the Redactor and
 * no address. Never per packet.
 */
import { randomInt } from 'node:crypto';
import { mediaProfiles } from '../../config/validate.js';
import type { Profile } from '../codec/profiles.js';
import { CLOSE_REASONS } from '../core/media-core.js';
import { SessionSlots } from './session-slots.js';
import type { Plane, PlaneContext } from '../../host/plane.js';
import type { WebSocket } from 'ws';
import type { RelayConfig } from '../../config/schema.js';
import { startDataPlane, type CellCore, type DataPlane, type DataPlaneOptions, type ExternalSink } from '../dataplane/index.js';
import { CELLS_WS_PATH, JOIN_PATH, joinHandler } from './join-route.js';
import { registerMediaMetrics } from './media-metrics.js';
import { rateLimitKeyOf } from '../../limits/client-address.js';
import { RateLimiter } from '../../limits/rate-limiter.js';
import { ERROR_CODES } from '../../errors.js';
import { CellSockets, closeCodeFor } from './cell-sockets.js';
import { RoomCluster } from './room-cluster.js';

export interface MediaPlane extends Plane {
  /** The UDP port cells are received on (the bound one when configured as 0). */
  readonly udpPort: number;
  /** The sans-IO core of the serving data plane (tests and load reports read per-session counters from it). */
  readonly core: CellCore;
  /** Which data plane carries cells. */
  readonly dataPlane: 'native' | 'typescript';
  /**
   * Sessions joined in process (the WebRTC edge's cell bridge, mixed rooms): the data plane's own
   * join, and cells in and out through an external sink, as a cell WebSocket has them.
   */
  readonly cells: CellPort;
  /**
   * Cluster mode (`store: redis`): the room placement, for members that are not cell sessions (the
   * WebRTC edge's joins go through it too: one room id space); undefined otherwise.
   */
  readonly placement: Pick<RoomCluster, 'route' | 'hold'> | undefined;
}

/** What a bridge into the cell plane uses: in-process join, cells over an external sink. */
export type CellPort = Pick<DataPlane, 'join' | 'receiveExternal' | 'forgetSink' | 'now'>;

export async function startMediaPlane(ctx: PlaneContext): Promise<MediaPlane> {
  const cfg = ctx.config.media;
  const profiles = mediaProfiles(cfg); // validateConfig has checked them; a config built in code gets the same ConfigError
  const log = ctx.logger.child({ plane: 'media' });
  const sockets = new CellSockets(cfg.wsMaxPerAddress);
  let wsBackpressureDrops = 0;
  let closed = false;
  const sessionSlots = new SessionSlots(cfg.maxSessionsPerAddress);
  let cluster: RoomCluster | undefined;
  const onClosed = (index: number, reason: number): void => {
    sessionSlots.closed(index);
    cluster?.closedSession(index);
    log.info({ reason: CLOSE_REASONS[reason], sessions: dp.core.sessionCount }, 'media session closed');
  };
  const { plane: dp, why } = await startDataPlane(cfg.dataPlane, dataPlaneOptions(ctx.config, profiles, onClosed));
  const core = dp.core;
  const metrics = registerMediaMetrics(ctx.metrics, core, () => {
    const c = dp.counters();
    // Cells for WebSockets the native thread dropped while JS was behind count as backpressure too.
    return { ...c, wsBackpressureDrops: wsBackpressureDrops + (c.externalDrops ?? 0), wsRefused: sockets.refused };
  });
  const udpPort = dp.udpPort;
  const advertised = cfg.advertisedHost !== '' ? cfg.advertisedHost : ctx.config.host;

  // Cluster mode: rooms are placed over the nodes sharing the Redis (README "Running a cluster").
  if (ctx.config.store === 'redis') {
    const draining = ctx.draining ?? (() => false);
    cluster = new RoomCluster({ config: ctx.config, logger: log, metrics: ctx.metrics, sessions: () => core.sessionCount, draining, udp: { host: advertised, port: udpPort }, end: (index) => void dp.end(index) });
  }
  const joinLimiter = new RateLimiter(cfg.joinRatePerSec, cfg.joinBurst);
  const joinKey = rateLimitKeyOf(ctx.clientAddress);
  ctx.http.route(
    'POST',
    JOIN_PATH,
    joinHandler({
      join: (room, profile, rx, tx) => dp.join(room, profile, rx, tx),
      maxBodyBytes: cfg.joinMaxBodyBytes,
      joinWait: (req) => joinLimiter.take(joinKey(req), Date.now()),
      udp: () => ({ host: advertised, port: udpPort }),
      onJoined: (j, room) => {
        metrics.joined();
        cluster?.joined(j.index, room);
        log.info({ room: ctx.redactor.id(room), session: ctx.redactor.id(String(j.session)), profile: j.profile.name, sessions: core.sessionCount }, 'media session joined');
      },
      onRefused: (code) => metrics.refused(code),
      sessionSlot: (req) => sessionSlots.take(joinKey(req)),
      ...(cluster !== undefined ? { route: (room: Uint8Array) => cluster!.route(room) } : {}),
    }),
  );
  ctx.http.websocket(CELLS_WS_PATH, (ws, req) => {
    if (closed) ws.terminate();
    else acceptCellSocket(ws, sockets.open(ws, joinKey(req), Date.now()), dp, cfg.wsMaxBufferedBytes, () => wsBackpressureDrops++, () => sockets.close(ws));
  });
  // One sweep for all cell sockets: a socket with no accepted cell for media.idleTimeoutMs is closed.
  const sweep = setInterval(() => sockets.closeIdle(Date.now() - cfg.idleTimeoutMs, (ws) => ws.close(closeCodeFor(ERROR_CODES.idle_timeout), 'idle_timeout')), Math.min(5000, Math.ceil(cfg.idleTimeoutMs / 2)));
  sweep.unref();
  log.info({ udpPort, profiles: profiles.map((p) => p.name), dataPlane: dp.kind, why }, `media plane listening (${dp.kind} data plane)`);

  return {
    name: 'media',
    udpPort,
    core,
    dataPlane: dp.kind,
    cells: { join: (r, p, rx, tx) => dp.join(r, p, rx, tx), receiveExternal: (c, s) => dp.receiveExternal(c, s), forgetSink: (s) => dp.forgetSink(s), now: () => dp.now() },
    placement: cluster,
    ready: () => !closed,
    listening: async (url) => cluster?.start(url),
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      clearInterval(sweep);
      await cluster?.close();
      sockets.terminateAll();
      await dp.close();
      log.info({ dataPlane: dp.kind }, 'media plane closed');
    },
  };
}
const EMPTY = Buffer.alloc(0);

/** What the data plane needs from the config (media section, host), in its units. */
function dataPlaneOptions(config: RelayConfig, profiles: readonly Profile[], onClosed: DataPlaneOptions['onClosed']): DataPlaneOptions {
  const cfg = config.media;
  return {
    core: {
      profiles,
      roomCap: cfg.roomCap,
      maxSessions: cfg.maxSessions,
      queueRecords: cfg.queueRecords,
      queueMaxAgeMs: cfg.queueMaxAgeMs,
      idleTimeoutMs: cfg.idleTimeoutMs,
      random16: () => randomInt(1, 0x10000),
    },
    host: config.host,
    udpPort: cfg.udpPort,
    onClosed,
    ...(cfg.floodGuard ? { floodGuard: { perSourcePerSec: cfg.unverifiedOpensPerSource, perSessionPerSec: cfg.unverifiedOpensPerSession, maxSources: 65_536 } } : {}),
    recvBufferBytes: cfg.udpRecvBufferBytes,
    ...(cfg.connectedPaths > 0 ? { connectedPaths: cfg.connectedPaths } : {}),
  };
}

/**
 * A `/v1/media/cells` WebSocket (`slot` undefined: refused at the per-address cap): its cells go to
 * the data plane, which sends the session's cells back through a sink over it.
 */
function acceptCellSocket(ws: WebSocket, slot: { lastAcceptedMs: number } | undefined, dp: DataPlane, maxBuffered: number, backpressureDrop: () => void, onClose: () => void): void {
  if (slot === undefined) {
    ws.close(closeCodeFor(ERROR_CODES.rate_limited), 'rate_limited');
    return;
  }
  const sink: ExternalSink = {
    send(cell: Buffer): void {
      if (ws.readyState !== 1 || ws.bufferedAmount > maxBuffered) backpressureDrop();
      else ws.send(cell, { binary: true });
    },
  };
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (dp.receiveExternal(isBinary && Buffer.isBuffer(data) ? data : EMPTY, sink) >= 0) slot.lastAcceptedMs = Date.now();
  });
  ws.on('close', () => {
    onClose();
    dp.forgetSink(sink);
  });
  ws.on('error', () => ws.terminate());
}
