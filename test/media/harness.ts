/** Hosts the media plane on a loopback node:http server with the shared HttpRouter (port 0 everywhere). */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isField, type Field, type Section } from '../../src/config/fields.js';
import { relaySchema, type RelayConfig } from '../../src/config/schema.js';
import { startMediaPlane, type MediaPlane } from '../../src/media/server/media-plane.js';
import { createLogger, Redactor } from '../../src/observability/log.js';
import { MetricsRegistry } from '../../src/observability/metrics.js';
import { HttpRouter } from '../../src/host/http-router.js';
import { testPlane } from './plane-select.js';

type MediaConfig = RelayConfig['media'];

export function testConfig(media: Partial<MediaConfig> = {}): RelayConfig {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(relaySchema) as Array<[string, Field<unknown> | Section]>) {
    if (isField(v)) out[k] = v.default;
    else out[k] = Object.fromEntries(Object.entries(v).map(([fk, f]) => [fk, f.default]));
  }
  out.host = '127.0.0.1';
  out.httpPort = 0;
  out.media = { ...(out.media as object), udpPort: 0, dataPlane: testPlane(), ...media };
  return out as unknown as RelayConfig;
}

export interface TestRelay {
  url: string;
  plane: MediaPlane;
  metrics: MetricsRegistry;
  /** A counter's value from /metrics text, e.g. metric('xrelay_media_cells_dropped_total{reason="replay"}'). */
  metric(name: string): number;
  close(): Promise<void>;
}

export async function startTestRelay(media: Partial<MediaConfig> = {}): Promise<TestRelay> {
  const logger = createLogger({ level: 'silent', posture: 'private' });
  const metrics = new MetricsRegistry();
  const router = new HttpRouter(logger, metrics, 1 << 20);
  const server: Server = createServer((req, res) => router.handle(req, res));
  server.on('upgrade', (req, socket, head) => router.handleUpgrade(req, socket, head));
  const plane = await startMediaPlane({ config: testConfig(media), logger, redactor: new Redactor('private'), metrics, http: router });
  if (plane.dataPlane !== testPlane()) throw new Error(`expected the ${testPlane()} data plane, got ${plane.dataPlane}`);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    plane,
    metrics,
    metric(name: string): number {
      const line = metrics
        .render()
        .split('\n')
        .find((l) => l.startsWith(name + ' '));
      return line === undefined ? 0 : Number(line.slice(name.length + 1));
    },
    async close(): Promise<void> {
      await plane.close();
      for (const ws of router.wss.clients) ws.terminate();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface Captured {
  t: number;
  dir: 'up' | 'down';
  bytes: Buffer;
}

/**
 * A UDP proxy between one client and the relay that records every datagram (time, direction,
 * bytes): what a network observer on the path sees. `rebind()` moves its relay-facing socket to a
 * new port, as a NAT rebinding would.
 */
export class CaptureProxy {
  readonly captured: Captured[] = [];
  private client: RemoteInfo | undefined;
  private upstream!: Socket;
  private readonly front: Socket = createSocket('udp4');

  constructor(private readonly relayPort: number) {}

  async start(): Promise<{ host: string; port: number }> {
    this.front.on('message', (msg, rinfo) => {
      this.client = rinfo;
      this.captured.push({ t: performance.now(), dir: 'up', bytes: msg });
      this.upstream.send(msg, this.relayPort, '127.0.0.1');
    });
    await new Promise<void>((r) => this.front.bind(0, '127.0.0.1', () => r()));
    this.upstream = await this.openUpstream();
    return { host: '127.0.0.1', port: this.front.address().port };
  }

  private async openUpstream(): Promise<Socket> {
    const s = createSocket('udp4');
    s.on('message', (msg) => {
      this.captured.push({ t: performance.now(), dir: 'down', bytes: msg });
      if (this.client) this.front.send(msg, this.client.port, this.client.address);
    });
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    return s;
  }

  async rebind(): Promise<void> {
    const old = this.upstream;
    this.upstream = await this.openUpstream();
    old.close();
  }

  close(): void {
    this.front.close();
    this.upstream.close();
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Mean, standard deviation and percentiles of numbers. */
export function spread(xs: number[]): { n: number; mean: number; sd: number; p1: number; p50: number; p99: number; min: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  const mean = s.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(s.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
  const q = (p: number): number => s[Math.min(n - 1, Math.floor(p * n))]!;
  return { n, mean, sd, p1: q(0.01), p50: q(0.5), p99: q(0.99), min: s[0]!, max: s[n - 1]! };
}
