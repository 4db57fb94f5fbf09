/**
 * `npm run demo`: a relay on loopback, a 1:1 audio call and a 6-person group room (end-to-end
 * padding on) with synthetic talk/silence audio, then a report: frames delivered, one-way latency
 * p50/p99, and what a network observer of the wire saw (through UDP capture proxies).
 *
 *   node dist/loadtest/demo.js [--seconds 8]
 *
 * Everything binds 127.0.0.1 with port 0; the run is bounded and leaves nothing behind.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { CallClient } from '../src/client/call/call-client.js';
import { isField, type Field, type Section } from '../src/config/fields.js';
import { relaySchema, type RelayConfig } from '../src/config/schema.js';
import { wireBitrate } from '../src/media/codec/profiles.js';
import { startMediaPlane, type MediaPlane } from '../src/media/server/media-plane.js';
import { createLogger, Redactor } from '../src/observability/log.js';
import { MetricsRegistry } from '../src/observability/metrics.js';
import { HttpRouter } from '../src/host/http-router.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function defaults(): RelayConfig {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(relaySchema) as Array<[string, Field<unknown> | Section]>) {
    out[k] = isField(v) ? v.default : Object.fromEntries(Object.entries(v).map(([fk, f]) => [fk, f.default]));
  }
  out.httpPort = 0;
  out.media = { ...(out.media as object), udpPort: 0 };
  return out as unknown as RelayConfig;
}

/** What an observer on the path records: time, direction and size of each datagram (bytes kept to prove blindness). */
class Tap {
  readonly seen: Array<{ t: number; up: boolean; bytes: Buffer }> = [];
  private client: RemoteInfo | undefined;
  private readonly front: Socket = createSocket('udp4');
  private readonly back: Socket = createSocket('udp4');
  constructor(private readonly relayPort: number) {}
  async start(): Promise<{ host: string; port: number }> {
    this.front.on('message', (m, r) => {
      this.client = r;
      this.seen.push({ t: performance.now(), up: true, bytes: m });
      this.back.send(m, this.relayPort, '127.0.0.1');
    });
    this.back.on('message', (m) => {
      this.seen.push({ t: performance.now(), up: false, bytes: m });
      if (this.client) this.front.send(m, this.client.port, this.client.address);
    });
    await Promise.all([this.front, this.back].map((s) => new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()))));
    return { host: '127.0.0.1', port: this.front.address().port };
  }
  close(): void {
    this.front.close();
    this.back.close();
  }
}

interface Member {
  call: CallClient;
  tap: Tap;
  talking: Array<[number, number]>;
  sentSizes: number[];
  /** First 16 bytes (RTP header + timestamp) of every packet sent, to search the capture for. */
  heads: Buffer[];
  /** Records the relay itself counted from this participant (its per-session counter). */
  relayRecords: number;
}

/** Talk spurts ~1.2 s and pauses ~1.8 s (exponential), 20 ms frames of 40..120 bytes while talking. */
async function speak(m: Member, until: number, stats: { sent: number }): Promise<void> {
  let seq = 0;
  while (performance.now() < until) {
    const spurt = Math.min(until, performance.now() + -Math.log(Math.random()) * 1200);
    const from = performance.now();
    while (performance.now() < spurt) {
      const size = 40 + Math.floor(Math.random() * 81);
      const p = Buffer.alloc(size, 0x55);
      p[0] = 0x80; // an RTP-like header the relay must never see
      p[1] = 111;
      p.writeUInt16BE(seq++ & 0xffff, 2);
      p.writeDoubleBE(performance.now() + performance.timeOrigin, 8);
      m.call.send(p);
      m.sentSizes.push(size);
      m.heads.push(p.subarray(0, 16));
      stats.sent++;
      await sleep(20);
    }
    m.talking.push([from, performance.now()]);
    await sleep(-Math.log(Math.random()) * 1800);
  }
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
};

async function runCall(name: string, url: string, plane: MediaPlane, n: number, profile: string, e2ePadding: boolean, until: number) {
  const secret = randomBytes(32);
  const members: Member[] = [];
  const latencies: number[] = [];
  let delivered = 0;
  for (let i = 0; i < n; i++) {
    const tap = new Tap(plane.udpPort);
    const call = await CallClient.join({ relay: url, callSecret: secret, profile, transport: 'udp', udpTarget: await tap.start(), e2ePadding });
    call.on('frame', (f) => {
      delivered++;
      latencies.push(performance.now() + performance.timeOrigin - Buffer.from(f.data).readDoubleBE(8));
    });
    members.push({ call, tap, talking: [], sentSizes: [], heads: [], relayRecords: 0 });
  }
  await sleep(300);
  const stats = { sent: 0 };
  await Promise.all(members.map((m) => speak(m, until, stats)));
  await sleep(300);
  for (const m of members) m.relayRecords = plane.core.sessionStats(m.call.session & 0xffff)?.recordsIn ?? 0;
  for (const m of members) await m.call.leave();
  for (const m of members) m.tap.close();
  return { name, n, profile, e2ePadding, members, sent: stats.sent, delivered, expected: stats.sent * (n - 1), latencies };
}

function observer(r: Awaited<ReturnType<typeof runCall>>): string[] {
  const m = r.members[0]!;
  const isTalking = (t: number): boolean => m.talking.some(([a, b]) => t >= a && t < b);
  const up = m.tap.seen.filter((s) => s.up);
  const down = m.tap.seen.filter((s) => !s.up);
  const gaps = (xs: typeof up) => xs.slice(1).map((x, i) => x.t - xs[i]!.t);
  const rate = (xs: typeof up, talk: boolean) => {
    const sel = xs.filter((x) => isTalking(x.t) === talk);
    const ms = talk ? m.talking.reduce((a, [f, t]) => a + (t - f), 0) : Math.max(1, xs.at(-1)!.t - xs[0]!.t - m.talking.reduce((a, [f, t]) => a + (t - f), 0));
    return ((sel.length * 1000) / ms).toFixed(1);
  };
  const g = gaps(up);
  const wire = Buffer.concat(r.members.flatMap((x) => x.tap.seen.map((s) => s.bytes)));
  const heads = r.members.flatMap((x) => x.heads);
  const found = heads.filter((h) => wire.indexOf(h) >= 0).length;
  return [
    `  observer of participant 0 (speaking ${(m.talking.reduce((a, [f, t]) => a + (t - f), 0) / 1000).toFixed(1)} s):`,
    `    uplink  : ${up.length} cells, sizes ${[...new Set(up.map((x) => x.bytes.length))].join('/')} B, ${rate(up, true)} cells/s while talking vs ${rate(up, false)} cells/s in silence, gap p50 ${pct(g, 0.5).toFixed(2)} ms p99 ${pct(g, 0.99).toFixed(2)} ms`,
    `    downlink: ${down.length} cells, sizes ${[...new Set(down.map((x) => x.bytes.length))].join('/')} B, ${rate(down, true)} cells/s while talking vs ${rate(down, false)} cells/s in silence`,
    `    media packet sizes actually sent: ${Math.min(...m.sentSizes)}..${Math.max(...m.sentSizes)} B (${new Set(m.sentSizes).size} distinct) -> on the wire: one size per direction`,
    `    plaintext search over ${wire.length} captured bytes: ${found} of ${heads.length} RTP headers found, payload runs ${wire.indexOf(Buffer.alloc(16, 0x55)) >= 0 ? 'FOUND' : 'not found'}`,
  ];
}

export interface DemoResult {
  name: string;
  sent: number;
  delivered: number;
  expected: number;
  p50: number;
  p99: number;
  upSizes: number[];
  downSizes: number[];
  relayRecords: number[];
}

/** Runs the demo for `seconds` of talk, printing through `print`; returns the figures (tests check them). */
export async function runDemo(seconds: number, print: (line: string) => void = console.log): Promise<DemoResult[]> {
  const console = { log: print };
  const logger = createLogger({ level: 'silent', posture: 'private' });
  const metrics = new MetricsRegistry();
  const router = new HttpRouter(logger, metrics, 1 << 20);
  const server = createServer((req, res) => router.handle(req, res));
  server.on('upgrade', (req, sock, head) => router.handleUpgrade(req, sock, head));
  const config = defaults();
  const plane = await startMediaPlane({ config, logger, redactor: new Redactor('private'), metrics, http: router });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  console.log(`relay on ${url}, cells on udp/${plane.udpPort}; ${seconds} s of synthetic talk/silence...`);
  const until = performance.now() + 600 + seconds * 1000;
  const results = await Promise.all([
    runCall('1:1 call', url, plane, 2, 'audio', false, until),
    runCall('group room', url, plane, 6, 'audio-room', true, until),
  ]);
  for (const r of results) {
    const p = config.media.profiles.find((s) => s.startsWith(r.profile + ':'))!.split(':').map(Number);
    console.log(`\n${r.name}: ${r.n} participants, profile ${r.profile} (uplink ${(wireBitrate(p[2]!, p[1]!) / 1000).toFixed(1)} kbit/s, downlink ${(wireBitrate(p[3]!, p[1]!) / 1000).toFixed(1)} kbit/s on the wire), e2e padding ${r.e2ePadding ? 'on' : 'off'}`);
    console.log(`  frames sent ${r.sent}, delivered ${r.delivered}/${r.expected} (${((100 * r.delivered) / Math.max(1, r.expected)).toFixed(2)}%)`);
    console.log(`  one-way latency p50 ${pct(r.latencies, 0.5).toFixed(1)} ms, p99 ${pct(r.latencies, 0.99).toFixed(1)} ms, max ${Math.max(...r.latencies).toFixed(1)} ms (two 20 ms pacers on the path)`);
    for (const line of observer(r)) console.log(line);
    const counts = r.members.map((m) => m.relayRecords);
    console.log(`  relay's own per-session counters, records received: ${counts.join(', ')}${r.e2ePadding ? ' (one per tick each, differing only by join time: speakers and listeners look alike)' : ' (track speech: the relay sees who speaks)'}`);
  }
  const s = plane.core.stats;
  console.log(`\nrelay: cells in ${s.cellsIn}, out ${s.cellsOut} (${((100 * s.dummyCellsOut) / s.cellsOut).toFixed(1)}% dummy), records forwarded ${s.recordsOut}, queue drops ${s.queueDrops + s.staleDrops}, missed ticks ${s.missedTicks}`);
  await plane.close();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  return results.map((r) => ({
    name: r.name,
    sent: r.sent,
    delivered: r.delivered,
    expected: r.expected,
    p50: pct(r.latencies, 0.5),
    p99: pct(r.latencies, 0.99),
    upSizes: [...new Set(r.members.flatMap((m) => m.tap.seen.filter((x) => x.up).map((x) => x.bytes.length)))],
    downSizes: [...new Set(r.members.flatMap((m) => m.tap.seen.filter((x) => !x.up).map((x) => x.bytes.length)))],
    relayRecords: r.members.map((m) => m.relayRecords),
  }));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1]) || 8;
  runDemo(seconds).catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
