/**
 * The media plane's I/O shell: the UDP socket, the WebSocket cell fallback, the join route and
 * the pacer's timer. Everything else is the sans-IO MediaCore; this file only moves bytes between
 * sockets and the core, reads the clock, and schedules the next wake-up the core asks for.
 *
 * Logs: lifecycle only (start, join, close), with room and session ids through the Redactor and
 * no address. Never per packet.
 */
import { randomInt } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import type { WebSocket } from 'ws';
import { parseProfiles } from '../codec/profiles.js';
import { CLOSE_REASONS, MediaCore, minBodyForRoster, SendBatch } from '../core/media-core.js';
import type { Plane, PlaneContext } from '../../server/plane.js';
import { CellPaths } from './cell-paths.js';
import { CELLS_WS_PATH, JOIN_PATH, joinHandler } from './join-route.js';
import { registerMediaMetrics } from './media-metrics.js';

export interface MediaPlane extends Plane {
  /** The UDP port cells are received on (the bound one when configured as 0). */
  readonly udpPort: number;
  /** The sans-IO core (tests and load reports read per-session counters from it). */
  readonly core: MediaCore;
}

export async function startMediaPlane(ctx: PlaneContext): Promise<MediaPlane> {
  const cfg = ctx.config.media;
  const profiles = parseProfiles(cfg.profiles);
  if (typeof profiles === 'string') throw new Error(`media.profiles: ${profiles}`);
  for (const p of profiles) {
    if (p.downBytes < minBodyForRoster(cfg.roomCap)) {
      throw new Error(`media.profiles: profile "${p.name}" down body ${p.downBytes} cannot carry a roster of media.roomCap ${cfg.roomCap}`);
    }
  }
  const core = new MediaCore({
    profiles,
    roomCap: cfg.roomCap,
    maxSessions: cfg.maxSessions,
    queueRecords: cfg.queueRecords,
    queueMaxAgeMs: cfg.queueMaxAgeMs,
    idleTimeoutMs: cfg.idleTimeoutMs,
    random16: () => randomInt(1, 0x10000),
  });
  const log = ctx.logger.child({ plane: 'media' });
  const now = (): number => performance.now();
  const host = ctx.config.host;
  const udp: Socket = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', reuseAddr: false });
  const paths = new CellPaths(udp, cfg.wsMaxBufferedBytes);
  const metrics = registerMediaMetrics(ctx.metrics, core, () => paths.counters);
  const batch = new SendBatch();
  const sockets = new Set<WebSocket>();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let udpErrors = 0;

  const flush = (): void => {
    for (let i = 0; i < batch.closedCount; i++) {
      const index = batch.closedIndexes[i]!;
      paths.forget(index);
      log.info({ reason: CLOSE_REASONS[batch.closedReasons[i]!], sessions: core.sessionCount }, 'media session closed');
    }
    for (let i = 0; i < batch.count; i++) paths.send(batch.indexes[i]!, batch.cells[i]!);
    batch.reset();
  };
  const tick = (): void => {
    timer = undefined;
    if (closed) return;
    batch.reset();
    const wake = core.poll(now(), batch);
    flush();
    schedule(wake);
  };
  const schedule = (wake: number): void => {
    if (closed || wake === Infinity) return;
    // Timers fire at or after their delay, so round up: waking early would find nothing due.
    timer = setTimeout(tick, Math.max(0, Math.ceil(wake - now())));
  };
  const kick = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(tick, 0);
  };

  udp.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
    const index = core.receive(msg, now());
    if (index >= 0) paths.fromUdp(index, rinfo.address, rinfo.port);
  });
  udp.on('error', () => {
    udpErrors++;
  });
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(cfg.udpPort, host, () => {
      udp.off('error', reject);
      resolve();
    });
  });
  const udpPort = udp.address().port;
  const advertised = cfg.advertisedHost !== '' ? cfg.advertisedHost : host;

  ctx.http.route(
    'POST',
    JOIN_PATH,
    joinHandler({
      core,
      now,
      maxBodyBytes: cfg.joinMaxBodyBytes,
      udp: () => ({ host: advertised, port: udpPort }),
      onJoined: (j, room) => {
        paths.forget(j.index);
        metrics.joined();
        log.info({ room: ctx.redactor.id(room), session: ctx.redactor.id(String(j.session)), profile: j.profile.name, sessions: core.sessionCount }, 'media session joined');
        kick();
      },
      onRefused: (code) => metrics.refused(code),
    }),
  );
  ctx.http.websocket(CELLS_WS_PATH, (ws) => {
    if (closed) {
      ws.terminate();
      return;
    }
    sockets.add(ws);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const cell = isBinary && Buffer.isBuffer(data) ? data : EMPTY;
      const index = core.receive(cell, now());
      if (index >= 0) paths.fromWs(index, ws);
    });
    ws.on('close', () => {
      sockets.delete(ws);
      paths.forgetSocket(ws);
    });
    ws.on('error', () => ws.terminate());
  });
  log.info({ udpPort, profiles: profiles.map((p) => p.name) }, 'media plane listening');

  return {
    name: 'media',
    udpPort,
    core,
    ready: () => !closed,
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      for (const ws of sockets) ws.terminate();
      sockets.clear();
      await new Promise<void>((resolve) => udp.close(() => resolve()));
      log.info({ udpErrors }, 'media plane closed');
    },
  };
}
const EMPTY = Buffer.alloc(0);
