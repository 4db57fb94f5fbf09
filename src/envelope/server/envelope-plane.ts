/**
 * Composition of the envelope plane: store (opened with retries, so the relay stays live and
 * reports not-ready while its volume is missing), mailbox service, HTTP and WebSocket front ends,
 * TTL sweeper and wake dispatcher.
 */
import type { WebSocket } from 'ws';
import type { Plane, PlaneContext } from '../../host/plane.js';
import { errorSummary } from '../../observability/error-summary.js';
import { ChallengeBook } from '../core/challenge-book.js';
import type { EnvelopeStore } from '../store/envelope-store.js';
import { createEnvelopeMetrics, mailboxMetricsOf, wakeMetricsOf } from './envelope-metrics.js';
import { rateLimitKeyOf } from '../../limits/client-address.js';
import { mountEnvelopeRoutes } from './http-routes.js';
import { openEnvelopeStore } from '../store/open-envelope-store.js';
import { lockDataDir, type DataDirLock } from '../store/data-dir-lock.js';
import { isRelayError } from '../../errors.js';
import { MailboxService } from '../core/mailbox-service.js';
import { LocalMailboxNotifier } from '../core/mailbox-notifier.js';
import { PostSocket } from './post-socket.js';
import { POST_PATH, READER_PATH } from '../../wire/envelope-protocol.js';
import { type PushProvider, WebhookProvider } from '../push/push-providers.js';
import { ReaderSocket } from './reader-socket.js';
import { SocketFlow, type FlowVerdict } from '../core/socket-flow.js';
import { closeWithError } from './socket-refusal.js';
import { WakeDispatcher } from '../push/wake-dispatcher.js';
import { SocketSlots } from '../../limits/socket-slots.js';

export interface EnvelopePlane extends Plane {
  readonly service: MailboxService;
}

export interface EnvelopePlaneOptions {
  /** Extra push providers (tests, future FCM/APNs); the webhook one comes from config. */
  providers?: readonly PushProvider[];
  now?: () => number;
}

const OPEN_RETRY_MAX_MS = 30_000;
/** How often idle and stalled envelope sockets are looked for: a quarter of the shorter timeout, within 0.25..5 s. */
function socketSweepMs(cfg: EnvelopePlaneConfig): number {
  return Math.min(5000, Math.max(250, (Math.min(cfg.postIdleTimeoutSec, cfg.socketStallTimeoutSec) * 1000) / 4));
}
type EnvelopePlaneConfig = PlaneContext['config']['envelope'];

export async function startEnvelopePlane(ctx: PlaneContext, opts: EnvelopePlaneOptions = {}): Promise<EnvelopePlane> {
  const cfg = ctx.config.envelope;
  const now = opts.now ?? Date.now;
  const logger = ctx.logger.child({ plane: 'envelope' });
  const metrics = createEnvelopeMetrics(ctx.metrics);
  const providers: PushProvider[] = [...(opts.providers ?? [])];
  if (cfg.webhookUrl !== '') providers.push(new WebhookProvider(cfg.webhookUrl));
  const wakes = new WakeDispatcher(providers, { windowMs: cfg.wakeWindowSec * 1000, retries: cfg.wakeRetries, retryBaseMs: cfg.wakeRetryBaseMs }, wakeMetricsOf(metrics), logger, now, cfg.wakeMaxPending);
  const mailboxMetrics = mailboxMetricsOf(metrics);
  const notifier = new LocalMailboxNotifier(cfg.maxReadersPerMailbox, mailboxMetrics.readersChanged);
  const service = new MailboxService({ config: cfg, metrics: mailboxMetrics, wakes, notifier, now });
  const challenges = new ChallengeBook(cfg.authTimeoutSec * 1000 * 6, now);
  const sockets = new Set<WebSocket>(); // reader and post sockets, closed at shutdown

  let store: EnvelopeStore | undefined;
  let lock: DataDirLock | undefined;
  let closed = false;
  let retryTimer: NodeJS.Timeout | undefined;
  // The first attempt runs before the relay listens: a data dir another relay holds fails the start
  // (data_dir_locked). A missing or unusable volume, then or later, is retried with backoff.
  const tryOpen = async (delayMs: number, first: boolean): Promise<void> => {
    try {
      const startedAt = performance.now();
      lock ??= await lockDataDir(ctx.config.dataDir);
      if (closed) return lock.release();
      const opened = openEnvelopeStore(ctx.config);
      store = opened.store;
      service.attachStore(store);
      logger.info({ envelopes: store.stats().envelopes, ...opened.details, lock: lock.name, openMs: Math.round(performance.now() - startedAt) }, 'envelope store open');
    } catch (err) {
      if (first && isRelayError(err) && err.code === 'data_dir_locked') throw err;
      logger.error({ err: errorSummary(err), retryInMs: delayMs }, 'cannot open the envelope store; relay not ready');
      retryTimer = setTimeout(() => !closed && void tryOpen(Math.min(delayMs * 2, OPEN_RETRY_MAX_MS), false), delayMs);
      retryTimer.unref();
    }
  };
  await tryOpen(1000, true);

  // Per-address socket cap (post and reader sockets together), then the sweep that closes idle and
  // stalled ones. A refused socket is counted under its code and never tracked.
  const slots = new SocketSlots(cfg.maxSocketsPerAddress);
  const live = new Set<{ tick(nowMs: number): FlowVerdict }>();
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
  const clientKey = rateLimitKeyOf(ctx.clientAddress);
  mountEnvelopeRoutes(ctx.http, service, Math.max(...cfg.sizeBuckets), clientKey, cfg.maxPostsInProgressPerAddress, metrics.postsInProgress);
  ctx.http.websocket(READER_PATH, (ws, req) => {
    if (!admit(ws, clientKey(req), 'reader')) return;
    const reader = new ReaderSocket(ws, {
      service, challenges, metrics, logger, redactor: ctx.redactor, now,
      authTimeoutMs: cfg.authTimeoutSec * 1000,
      maxInflight: cfg.maxInflightPerReader,
      maxInflightBytes: cfg.maxInflightBytesPerReader,
      flow: flowOf(Infinity, 0),
    });
    watch(ws, reader);
  });
  ctx.http.websocket(POST_PATH, (ws, req) => {
    const key = clientKey(req);
    if (!admit(ws, key, 'post')) return;
    watch(ws, new PostSocket(ws, { service, metrics, clientKey: key, now, flow: flowOf(cfg.postMaxInflightPerSocket, cfg.postIdleTimeoutSec) }));
  });
  const socketSweep = setInterval(() => {
    const t = now();
    for (const conn of live) conn.tick(t);
  }, socketSweepMs(cfg));
  socketSweep.unref();

  const sweeper = setInterval(() => {
    wakes.prune();
    service.expire().catch((err: unknown) => logger.warn({ err: errorSummary(err) }, 'expiry sweep failed'));
  }, cfg.sweepIntervalSec * 1000);
  sweeper.unref();
  ctx.metrics.onCollect(() => {
    const s = service.storeStats();
    metrics.storedEnvelopes.set(s?.envelopes ?? 0);
    metrics.storedBytes.set(s?.bytes ?? 0);
  });

  return {
    name: 'envelope',
    service,
    ready: () => service.ready,
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(retryTimer);
      clearInterval(sweeper);
      clearInterval(socketSweep);
      await service.drain(ctx.config.shutdownGraceSec * 1000);
      wakes.close();
      for (const ws of sockets) ws.close(1001, 'shutting_down');
      await store?.close();
      lock?.release();
    },
  };
}
