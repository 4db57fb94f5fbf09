/**
 * The relay a load run talks to, hosted in one place so that moving to the composition root is a
 * one-function change: `hostRelay()` composes the planes itself today (node:http + HttpRouter +
 * startMediaPlane, as loadtest/demo.ts does); once `startRelay(config)` lands in
 * src/server/relay.ts it should call that instead and keep the same return shape.
 *
 * Run as a child process (`fork`), this file hosts the relay and answers the load kit over IPC:
 * its own CPU and RSS (so client load never pollutes the relay's figures), the media core's
 * counters, and samples of per-sender forwarded-record counters (the relay's own view, for the
 * leak meter). Everything binds 127.0.0.1 on port 0.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { isField, type Field, type Section } from '../../src/config/fields.js';
import { relaySchema, type RelayConfig } from '../../src/config/schema.js';
import { startMediaPlane } from '../../src/media/server/media-plane.js';
import type { MediaCore } from '../../src/media/core/media-core.js';
import { createLogger, Redactor } from '../../src/observability/log.js';
import { MetricsRegistry } from '../../src/observability/metrics.js';
import { HttpRouter } from '../../src/server/http-router.js';
import type { Plane } from '../../src/server/plane.js';

export interface HostOptions {
  /** Overrides of the media section (profiles, roomCap, ...). */
  media?: Partial<RelayConfig['media']>;
  /** Also mount the envelope plane (when the build has it); its store lives in `dataDir`. */
  envelopes?: boolean;
  dataDir?: string;
}

/** What the kit reads from the media core (met by the TypeScript MediaCore and the native CellCore alike). */
export type CoreView = Pick<MediaCore, 'stats' | 'sessionCount' | 'sessionStats'>;

export interface HostedRelay {
  url: string;
  /** Where cells go (127.0.0.1 and the bound UDP port). */
  udpPort: number;
  core: CoreView;
  metricsText(): string;
  planes: string[];
  close(): Promise<void>;
}

/** Relay config: the schema's defaults, loopback, port 0 everywhere. */
export function loadConfig(opts: HostOptions): RelayConfig {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(relaySchema) as Array<[string, Field<unknown> | Section]>) {
    out[k] = isField(v) ? v.default : Object.fromEntries(Object.entries(v).map(([fk, f]) => [fk, f.default]));
  }
  out.host = '127.0.0.1';
  out.httpPort = 0;
  out.media = { ...(out.media as object), udpPort: 0, ...opts.media };
  if (opts.dataDir !== undefined && typeof out.envelope === 'object' && out.envelope !== null && 'dataDir' in out.envelope) {
    out.envelope = { ...(out.envelope as object), dataDir: opts.dataDir };
  }
  return out as unknown as RelayConfig;
}

export async function hostRelay(opts: HostOptions = {}): Promise<HostedRelay> {
  const config = loadConfig(opts);
  const logger = createLogger({ level: 'silent', posture: 'private' });
  const metrics = new MetricsRegistry();
  const router = new HttpRouter(logger, metrics.counter('xrelay_http_requests_total', 'HTTP requests.', 'route'), 1 << 20);
  const server: Server = createServer((req, res) => router.handle(req, res));
  server.on('upgrade', (req, sock, head) => router.handleUpgrade(req, sock, head));
  const ctx = { config, logger, redactor: new Redactor('private'), metrics, http: router };
  const media = await startMediaPlane(ctx);
  const planes: Plane[] = [media];
  if (opts.envelopes === true) {
    // Optional until the envelope plane is committed: resolved at run time so this file builds without it.
    const mod = (await import(ENVELOPE_PLANE).catch(() => undefined)) as { startEnvelopePlane?: (c: typeof ctx) => Promise<Plane> } | undefined;
    if (mod?.startEnvelopePlane !== undefined) planes.push(await mod.startEnvelopePlane(ctx));
  }
  router.route('GET', '/metrics', (_req, res) => {
    const text = metrics.render();
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(text);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    udpPort: media.udpPort,
    core: media.core,
    metricsText: () => metrics.render(),
    planes: planes.map((p) => p.name),
    async close(): Promise<void> {
      for (const p of planes.reverse()) await p.close();
      for (const ws of router.wss.clients) ws.terminate();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
const ENVELOPE_PLANE = '../../src/envelope/envelope-plane.js';

/** The media core's relay-wide counters (cumulative). */
export interface CoreCounters {
  cellsIn: number;
  cellsOut: number;
  dummyCellsOut: number;
  recordsIn: number;
  recordsOut: number;
  queueDrops: number;
  staleDrops: number;
  missedTicks: number;
  drops: number;
  sessions: number;
}

export function coreCounters(core: CoreView): CoreCounters {
  const s = core.stats;
  return {
    cellsIn: s.cellsIn,
    cellsOut: s.cellsOut,
    dummyCellsOut: s.dummyCellsOut,
    recordsIn: s.recordsIn,
    recordsOut: s.recordsOut,
    queueDrops: s.queueDrops,
    staleDrops: s.staleDrops,
    missedTicks: s.missedTicks,
    drops: Array.from(s.drops as ArrayLike<number>).reduce((a, b) => a + b, 0),
    sessions: core.sessionCount,
  };
}

/**
 * Samples, every `periodMs`, how many records the relay accepted from each watched session: the
 * relay's own per-sender view of who sends media when. Rows are [epoch ms, count per index...].
 */
export class SenderWatch {
  readonly rows: number[][] = [];
  private timer: NodeJS.Timeout | undefined;
  constructor(
    private readonly core: CoreView,
    private readonly indexes: number[],
    periodMs: number,
    maxRows = 100_000,
  ) {
    this.sample();
    this.timer = setInterval(() => {
      if (this.rows.length < maxRows) this.sample();
    }, periodMs);
  }
  private sample(): void {
    const row = [performance.timeOrigin + performance.now()];
    for (const i of this.indexes) row.push(this.core.sessionStats(i)?.recordsIn ?? NaN);
    this.rows.push(row);
  }
  stop(): number[][] {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.sample();
    return this.rows;
  }
}

export type HostRequest =
  | { id: number; type: 'stats' }
  | { id: number; type: 'watch'; indexes: number[]; periodMs: number }
  | { id: number; type: 'collect' }
  | { id: number; type: 'close' };

/** Child-process entry: host, announce, answer until told to close (or the parent goes away). */
async function serveOverIpc(): Promise<void> {
  const opts = JSON.parse(process.env.XRELAY_LOAD_HOST ?? '{}') as HostOptions;
  const relay = await hostRelay(opts);
  let watch: SenderWatch | undefined;
  const reply = (id: number, body: unknown): void => {
    process.send?.({ id, ...(body as object) });
  };
  process.on('message', (m: HostRequest) => {
    switch (m.type) {
      case 'stats': {
        const cpu = process.cpuUsage();
        reply(m.id, { t: performance.timeOrigin + performance.now(), cpuMs: (cpu.user + cpu.system) / 1000, rssBytes: process.memoryUsage().rss, core: coreCounters(relay.core) });
        break;
      }
      case 'watch':
        watch?.stop();
        watch = new SenderWatch(relay.core, m.indexes, m.periodMs);
        reply(m.id, {});
        break;
      case 'collect':
        reply(m.id, { rows: watch?.stop() ?? [] });
        watch = undefined;
        break;
      case 'close':
        watch?.stop();
        void relay.close().then(() => {
          reply(m.id, {});
          process.disconnect?.();
        });
        break;
    }
  });
  process.on('disconnect', () => {
    watch?.stop();
    void relay.close().finally(() => process.exit(0));
  });
  process.send?.({ id: 0, type: 'ready', url: relay.url, udpPort: relay.udpPort, planes: relay.planes, pid: process.pid });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  serveOverIpc().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
