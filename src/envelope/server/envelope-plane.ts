/**
 * Composition of the envelope plane: store (opened with retries, so the relay stays live and
 * reports not-ready while its volume is missing), mailbox service over its ports (store, local
 * notifier, or the cross-node one on a Redis mailbox bus when `store: redis`; wake dispatcher, with
 * the cluster-wide wake gate on that bus; metrics), HTTP routes and WebSockets, TTL sweeper.
 */
import type { Plane, PlaneContext } from '../../host/plane.js';
import { errorSummary } from '../../observability/error-summary.js';
import { rateLimitKeyOf } from '../../limits/client-address.js';
import { ChallengeBook } from '../core/challenge-book.js';
import { ClusterMailboxNotifier } from '../core/cluster-notifier.js';
import { LocalMailboxNotifier, type MailboxNotifier } from '../core/mailbox-notifier.js';
import { RedisMailboxBus } from '../push/redis-mailbox-bus.js';
import { MailboxService } from '../core/mailbox-service.js';
import { type PushProvider, WebhookProvider } from '../push/push-providers.js';
import { WakeDispatcher } from '../push/wake-dispatcher.js';
import { createEnvelopeMetrics, mailboxMetricsOf, wakeMetricsOf } from './envelope-metrics.js';
import { mountEnvelopeSockets } from './envelope-sockets.js';
import { mountEnvelopeRoutes } from './http-routes.js';
import { openStoreWithRetry } from './store-opener.js';

export interface EnvelopePlane extends Plane {
  readonly service: MailboxService;
}

export interface EnvelopePlaneOptions {
  /** Extra push providers (tests, future FCM/APNs); the webhook one comes from config. */
  providers?: readonly PushProvider[];
  now?: () => number;
}

export async function startEnvelopePlane(ctx: PlaneContext, opts: EnvelopePlaneOptions = {}): Promise<EnvelopePlane> {
  const cfg = ctx.config.envelope;
  const now = opts.now ?? Date.now;
  const logger = ctx.logger.child({ plane: 'envelope' });
  const metrics = createEnvelopeMetrics(ctx.metrics);
  const providers: PushProvider[] = [...(opts.providers ?? [])];
  if (cfg.webhookUrl !== '') providers.push(new WebhookProvider(cfg.webhookUrl));
  // Cluster mode (store: redis): a mailbox bus between nodes for live delivery and the wake gate.
  const bus = ctx.config.store === 'redis' ? new RedisMailboxBus(ctx.config.redis) : undefined;
  const wakes = new WakeDispatcher(providers, { windowMs: cfg.wakeWindowSec * 1000, retries: cfg.wakeRetries, retryBaseMs: cfg.wakeRetryBaseMs }, wakeMetricsOf(metrics), logger, now, cfg.wakeMaxPending, bus);
  const mailboxMetrics = mailboxMetricsOf(metrics);
  const local = new LocalMailboxNotifier(cfg.maxReadersPerMailbox, mailboxMetrics.readersChanged);
  const cluster = bus === undefined ? undefined : new ClusterMailboxNotifier(local, bus, (result) => metrics.hints.inc(1, result));
  const notifier: MailboxNotifier = cluster ?? local;
  const resync = cluster === undefined ? undefined : setInterval(() => cluster.resync(), ctx.config.redis.resyncIntervalSec * 1000);
  resync?.unref();
  const service = new MailboxService({ config: cfg, metrics: mailboxMetrics, wakes, notifier, now, monotonicMs: () => performance.now() });
  const challenges = new ChallengeBook(cfg.authTimeoutSec * 1000 * 6, now);
  const store = await openStoreWithRetry(ctx.config, service, logger).catch(async (err: unknown) => {
    clearInterval(resync);
    await bus?.close(); // a start that fails (store_not_durable) leaves no Redis connection behind
    throw err;
  });

  const clientKey = rateLimitKeyOf(ctx.clientAddress);
  mountEnvelopeRoutes(ctx.http, service, Math.max(...cfg.sizeBuckets), clientKey, cfg.maxPostsInProgressPerAddress, metrics.postsInProgress);
  const sockets = mountEnvelopeSockets(ctx, { service, challenges, metrics, logger, clientKey, now });

  const sweeper = setInterval(() => {
    wakes.prune();
    service.expire().catch((err: unknown) => logger.warn({ err: errorSummary(err) }, 'expiry sweep failed'));
  }, cfg.sweepIntervalSec * 1000);
  sweeper.unref();
  ctx.metrics.onCollect(() => {
    const s = service.storeStats();
    metrics.storedEnvelopes.set(s?.envelopes ?? 0);
    metrics.storedBytes.set(s?.bytes ?? 0);
    metrics.subscriptions.set(cluster?.subscriptions ?? 0);
  });

  let closed = false;
  return {
    name: 'envelope',
    service,
    ready: () => service.ready,
    async close() {
      if (closed) return;
      closed = true;
      store.stop();
      sockets.stopAccepting();
      clearInterval(sweeper);
      clearInterval(resync);
      await withinMs(service.drain(), ctx.config.shutdownGraceSec * 1000);
      wakes.close();
      sockets.closeAll();
      await store.close();
      await bus?.close();
    },
  };
}

/** Waits for `work`, at most `ms` milliseconds. */
async function withinMs(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  await Promise.race([work, timeout]);
  clearTimeout(timer);
}
