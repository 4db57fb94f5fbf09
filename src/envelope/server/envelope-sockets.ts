/**
 * The envelope plane's WebSockets (reader and post): the per-address socket cap (post and reader
 * sockets together), then the sweep that closes idle and stalled ones. A refused socket is counted
 * under its code and never tracked.
 */
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { PlaneContext } from '../../host/plane.js';
import type { Logger } from '../../observability/log.js';
import { SocketSlots } from '../../limits/socket-slots.js';
import { RateLimiter } from '../../limits/rate-limiter.js';
import { POST_PATH, READER_PATH } from '../../wire/envelope-protocol.js';
import type { ChallengeBook } from '../core/challenge-book.js';
import type { MailboxService } from '../core/mailbox-service.js';
import { SocketFlow, type FlowVerdict } from '../core/socket-flow.js';
import type { EnvelopeMetrics } from './envelope-metrics.js';
import { PostSocket } from './post-socket.js';
import { ReaderSocket } from './reader-socket.js';
import { closeWithError } from './socket-refusal.js';

type EnvelopeConfig = PlaneContext['config']['envelope'];

export interface EnvelopeSocketDeps {
  service: MailboxService;
  challenges: ChallengeBook;
  metrics: EnvelopeMetrics;
  logger: Logger;
  clientKey: (req: IncomingMessage) => string;
  now: () => number;
}

export interface EnvelopeSockets {
  /** New sockets are closed with 1001 from now on; the sweep stops. */
  stopAccepting(): void;
  /** Closes every open envelope socket (1001 shutting_down). */
  closeAll(): void;
}

/** How often idle and stalled envelope sockets are looked for: a quarter of the shorter timeout, within 0.25..5 s. */
function socketSweepMs(cfg: EnvelopeConfig): number {
  return Math.min(5000, Math.max(250, (Math.min(cfg.postIdleTimeoutSec, cfg.socketStallTimeoutSec) * 1000) / 4));
}

export function mountEnvelopeSockets(ctx: PlaneContext, deps: EnvelopeSocketDeps): EnvelopeSockets {
  const cfg = ctx.config.envelope;
  const { service, metrics, now } = deps;
  const sockets = new Set<WebSocket>();
  const slots = new SocketSlots(cfg.maxSocketsPerAddress);
  const live = new Set<{ tick(nowMs: number): FlowVerdict }>();
  let closed = false;
  const admit = (ws: WebSocket, key: string, kind: 'post' | 'reader'): boolean => {
    if (closed) {
      ws.close(1001, 'shutting_down');
      return false;
    }
    if (!slots.tryAcquire(key)) {
      closeWithError(ws, service.refusal('too_many_sockets', `this address holds envelope.maxSocketsPerAddress (${cfg.maxSocketsPerAddress}) sockets`));
      return false;
    }
    sockets.add(ws);
    metrics.sockets.add(1, kind);
    ws.on('close', () => {
      sockets.delete(ws);
      slots.release(key);
      metrics.sockets.add(-1, kind);
    });
    return true;
  };
  const watch = (ws: WebSocket, conn: { tick(nowMs: number): FlowVerdict }): void => {
    live.add(conn);
    ws.on('close', () => live.delete(conn));
  };
  const flowOf = (maxInflight: number, idleSec: number): SocketFlow =>
    new SocketFlow({ maxBufferedBytes: cfg.socketMaxBufferedBytes, stallMs: cfg.socketStallTimeoutSec * 1000, maxInflight, idleMs: idleSec * 1000 }, now());
  const authLimiter = new RateLimiter(cfg.authRatePerSec, cfg.authBurst);
  ctx.http.websocket(READER_PATH, (ws, req) => {
    const key = deps.clientKey(req);
    if (!admit(ws, key, 'reader')) return;
    const reader = new ReaderSocket(ws, {
      service, challenges: deps.challenges, metrics, logger: deps.logger, redactor: ctx.redactor, now,
      authTimeoutMs: cfg.authTimeoutSec * 1000,
      maxInflight: cfg.maxInflightPerReader,
      maxInflightBytes: cfg.maxInflightBytesPerReader,
      flow: flowOf(Infinity, 0),
      takeAuthToken: () => authLimiter.take(key, now()),
    });
    watch(ws, reader);
  });
  ctx.http.websocket(POST_PATH, (ws, req) => {
    const key = deps.clientKey(req);
    if (!admit(ws, key, 'post')) return;
    watch(ws, new PostSocket(ws, { service, metrics, clientKey: key, now, flow: flowOf(cfg.postMaxInflightPerSocket, cfg.postIdleTimeoutSec) }));
  });
  const socketSweep = setInterval(() => {
    const t = now();
    for (const conn of live) conn.tick(t);
  }, socketSweepMs(cfg));
  socketSweep.unref();
  return {
    stopAccepting() {
      closed = true;
      clearInterval(socketSweep);
    },
    closeAll() {
      for (const ws of sockets) ws.close(1001, 'shutting_down');
    },
  };
}
