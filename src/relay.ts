/**
 * The composition root: one HTTP(S)/WebSocket server with /healthz, /readyz and /metrics, and the
 * planes mounted on it (envelope always; media and TURN when enabled). Graceful close: stop
 * accepting, let each plane finish in-flight work (the envelope store's writes first of all), then
 * drop remaining connections.
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { RelayConfig } from './config/schema.js';
import { startEnvelopePlane, type EnvelopePlane, type EnvelopePlaneOptions } from './envelope/server/envelope-plane.js';
import { POST_HEADER_BYTES } from './wire/envelope-protocol.js';
import { startMediaPlane, type MediaPlane } from './media/server/media-plane.js';
import { createLogger, Redactor, type Logger } from './observability/log.js';
import { MetricsRegistry } from './observability/metrics.js';
import { registerProcessMetrics } from './observability/process-metrics.js';
import { startTurnPlane, type TurnPlane } from './turn/server/turn-plane.js';
import type { RtcPlacementPort, RtcPlane } from './rtc/server/rtc-plane.js';
import { RelayError } from './errors.js';
import { rtcAdvertisedHost } from './config/validate.js';
import { HttpRouter } from './host/http-router.js';
import { mountHealthRoutes } from './host/health-routes.js';
import { clientErrorHandler } from './host/client-errors.js';
import { ConnectionCap } from './limits/connection-cap.js';
import { BrowserPolicy } from './host/cors.js';
import { JOIN_PATH } from './media/server/join-route.js';
import type { Plane, PlaneContext } from './host/plane.js';
import { addressMatcher, clientAddressResolver } from './limits/client-address.js';
import { validateConfig } from './config/load.js';
import { reloadRelay, type ReloadReport } from './relay-reload.js';

export interface RelayOptions {
  logger?: Logger;
  /** Where log lines go when no logger is given (tests capture them). */
  logDestination?: NodeJS.WritableStream;
  envelope?: EnvelopePlaneOptions;
}

export interface Relay {
  readonly config: RelayConfig;
  readonly httpPort: number;
  /** http(s)://host:port of the HTTP/WebSocket server. */
  readonly url: string;
  readonly envelope: EnvelopePlane;
  readonly media: MediaPlane | undefined;
  readonly turn: TurnPlane | undefined;
  readonly rtc: RtcPlane | undefined;
  readonly metrics: MetricsRegistry;
  /** The HTTP routes and WebSocket paths the planes registered (the contract test reads them). */
  readonly router: HttpRouter;
  readonly logger: Logger;
  /** True while the node is draining (`xrelay drain`, POST /v1/admin/drain): no new rooms, /readyz 503. */
  readonly draining: boolean;
  /** Starts or ends draining (what the admin route does). */
  setDraining(on: boolean): void;
  /** Apply what can change while running (certificates, log level): see relay-reload.ts. SIGHUP calls it. */
  reload(next: RelayConfig): ReloadReport;
  close(): Promise<void>;
}

/** WebSocket frames: the largest envelope plus the post header, and room for media cells. */
function maxFrameBytes(config: RelayConfig): number {
  return Math.max(Math.max(...config.envelope.sizeBuckets) + POST_HEADER_BYTES, 64 * 1024);
}

export async function startRelay(config: RelayConfig, opts: RelayOptions = {}): Promise<Relay> {
  validateConfig(config); // loadConfig did; a config assembled in code gets the same checks
  const logger = opts.logger ?? createLogger({ level: config.logLevel, posture: config.logPosture, format: config.logFormat, ...(opts.logDestination ? { destination: opts.logDestination } : {}) });
  const redactor = new Redactor(config.logPosture);
  const metrics = new MetricsRegistry();
  const stopProcessMetrics = registerProcessMetrics(metrics, Date.now() - process.uptime() * 1000);
  const router = new HttpRouter(logger, metrics, maxFrameBytes(config));
  router.usePolicy(new BrowserPolicy(config.corsOrigins, new Set([JOIN_PATH])));
  const clientAddress = clientAddressResolver(config.trustProxy);
  const drain = { draining: false, onChange: (on: boolean) => logger.info({ draining: on }, on ? 'node draining: no new rooms, calls go on' : 'node no longer draining') };
  const ctx: PlaneContext = { config, logger, redactor, metrics, http: router, clientAddress, draining: () => drain.draining };

  const tls = config.tlsCert !== '';
  const server = createServer(config, tls);
  const https = tls ? (server as HttpsServer) : undefined; // SIGHUP swaps its certificate
  router.limitBodies(config.http.maxDiscardBytes, metrics.counter('xrelay_http_body_discard_closes_total', 'Connections closed because a refused request kept sending more than http.maxDiscardBytes.'));
  const refused = metrics.counter('xrelay_http_refused_total', 'Requests refused before routing (parser errors, header size, timeouts) and connections over the per-address cap, by code.', 'code');
  server.on('request', (req, res) => router.handle(req, res));
  server.on('upgrade', (req, socket, head) => router.handleUpgrade(req, socket, head));
  server.on('clientError', clientErrorHandler(config.http.maxDiscardBytes, refused));
  server.on('connection', new ConnectionCap(config.http.maxConnectionsPerAddress, config.trustProxy, () => refused.inc(1, 'too_many_connections')).admit);

  const planes: Plane[] = [];
  const closeAll = async (): Promise<void> => {
    stopProcessMetrics();
    for (const p of [...planes].reverse()) await p.close();
  };
  try {
    const envelope = await startEnvelopePlane(ctx, opts.envelope);
    planes.push(envelope);
    const media = config.media.enabled ? await startMediaPlane(ctx) : undefined;
    if (media) planes.push(media);
    const turn = config.turn.enabled ? await startTurnPlane(ctx) : undefined;
    if (turn) planes.push(turn);
    const rtcHost = rtcAdvertisedHost(config);
    if (config.rtc.enabled && rtcHost === undefined) {
      logger.warn({ host: config.host }, 'WebRTC edge off: no IPv4 address to put in its ICE candidates; set rtc.advertisedHost (or rtc.enabled false to silence this)');
    }
    const rtc = config.rtc.enabled && rtcHost !== undefined ? await startRtcEdge(ctx, rtcHost, media, planes) : undefined;
    if (rtc && config.store === 'redis' && !media) {
      logger.warn('cluster mode without the media plane: the WebRTC edge\'s rooms are not placed (each node keeps its own); enable media for one room per id across nodes');
    }

    mountHealthRoutes(router, { planes, metrics, clientAddress, metricsAllowed: addressMatcher(config.metricsAllow), drain });

    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.httpPort, config.host, () => resolve());
    });
    const httpPort = (server.address() as AddressInfo).port;
    if (!tls && !isLoopback(config.host)) {
      logger.warn('serving plain HTTP on a non-loopback address: configure tlsCert and tlsKey, or put a TLS terminator in front');
    }
    const url = `${tls ? 'https' : 'http'}://${config.host.includes(':') ? `[${config.host}]` : config.host}:${httpPort}`;
    for (const p of planes) await p.listening?.(url);
    logger.info({ httpPort, tls, media: media?.udpPort ?? 'off', turn: turn?.udpPort ?? 'off', rtc: rtc?.udpPort ?? 'off', posture: config.logPosture }, 'relay listening');

    let closing: Promise<void> | undefined;
    return {
      config, httpPort, url, envelope, media, turn, rtc, metrics, router, logger,
      get draining() {
        return drain.draining;
      },
      setDraining(on: boolean) {
        if (drain.draining === on) return;
        drain.draining = on;
        drain.onChange(on);
      },
      reload: (next) => reloadRelay({ running: config, logger, https, turn }, next),
      close() {
        closing ??= (async () => {
          const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
          server.closeIdleConnections();
          await closeAll();
          for (const ws of router.wss.clients) ws.terminate();
          server.closeAllConnections();
          await stopped;
          logger.info('relay stopped');
        })();
        return closing;
      },
    };
  } catch (err) {
    await closeAll().catch(() => undefined);
    server.close();
    throw err;
  }
}

/**
 * Cluster mode: the WebRTC edge's joins go through the media plane's room placement (one room id
 * space, README "Rooms in a cluster"); the edge sees a port, not the media plane.
 */
function rtcPlacement(cluster: NonNullable<MediaPlane['placement']>): RtcPlacementPort {
  return {
    async route(room) {
      const where = await cluster.route(room);
      if (where.kind === 'redirect') return where.url;
      if (where.kind === 'refuse') throw new RelayError('store_unavailable', 'room placement is unavailable', { retryAfterSec: 1 });
      return undefined;
    },
    hold: (room, onMoved) => cluster.hold(room, onMoved),
  };
}

/** The HTTP(S) server with the `http` section's limits and timeouts set on purpose (README, "HTTP limits"). */
function createServer(config: RelayConfig, tls: boolean): Server {
  const h = config.http;
  const options = {
    maxHeaderSize: h.maxHeaderBytes,
    requestTimeout: h.requestTimeoutMs,
    headersTimeout: h.headersTimeoutMs,
    keepAliveTimeout: h.keepAliveTimeoutMs,
    // How often Node checks the two timeouts above (default 30 s): they hold to within this.
    connectionsCheckingInterval: Math.min(1_000, Math.max(50, Math.floor(h.headersTimeoutMs / 4))),
    // The router answers a missing Host itself, with the JSON error (Node's own 400 has no body).
    requireHostHeader: false,
  };
  const server: Server = tls
    ? createHttpsServer({ ...options, cert: readFileSync(config.tlsCert), key: readFileSync(config.tlsKey), handshakeTimeout: h.headersTimeoutMs })
    : createHttpServer(options);
  server.requestTimeout = h.requestTimeoutMs;
  server.maxConnections = h.maxConnections; // past it Node closes new connections at once (a global bound beside the per-address one)
  server.headersTimeout = h.headersTimeoutMs;
  server.keepAliveTimeout = h.keepAliveTimeoutMs;
  return server;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/**
 * The WebRTC edge and, with the media plane on, the bridge of mixed rooms (WebRTC members of audio
 * rooms are also cell members of the same room id: docs/RTC.md). Loaded only when the edge is on:
 * werift alone takes ~0.6 s to import, which a relay without the edge (and every test relay) skips.
 */
async function startRtcEdge(ctx: PlaneContext, host: string, media: MediaPlane | undefined, planes: Plane[]): Promise<RtcPlane> {
  const { startRtcPlane } = await import('./rtc/server/rtc-plane.js');
  const rtc = await startRtcPlane(ctx, host, { ...(media?.placement ? { placement: rtcPlacement(media.placement) } : {}) });
  planes.push(rtc);
  if (media) {
    const [{ CellBridge }, { registerBridgeMetrics }] = await Promise.all([import('./bridge/cell-bridge.js'), import('./bridge/bridge-metrics.js')]);
    const bridge = new CellBridge(media.cells);
    bridge.attach(rtc.attachCellBridge(bridge));
    registerBridgeMetrics(ctx.metrics, bridge);
    planes.push({ name: 'rtc-bridge', ready: () => true, close: async () => bridge.close() });
  }
  return rtc;
}
