/**
 * The relay a load run talks to, hosted in one place: `hostRelay()` starts the composition root
 * (`startRelay(config)` of src/relay.ts: envelope plane, media plane, /metrics) on loopback
 * with port 0 everywhere, TURN off, and a throwaway data directory.
 *
 * Run as a child process (`fork`), this file hosts the relay and answers the load kit over IPC:
 * its own CPU and RSS (so client load never pollutes the relay's figures), the media core's
 * counters, and samples of per-sender accepted-record counters (the relay's own view, for the
 * leak meter). `xrelay serve` could be spawned instead, but it has no channel for the per-sender
 * samples; this host keeps them while running exactly the same composition root.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { defaultConfig } from '../config/load.js';
import type { RelayConfig } from '../config/schema.js';
import type { MediaCore } from '../media/core/media-core.js';
import { startRelay } from '../relay.js';

export interface HostOptions {
  /** Overrides of the media section (profiles, roomCap, ...). */
  media?: Partial<RelayConfig['media']>;
  /** Overrides of the envelope section (the storm lifts the per-address post rate: all its clients share 127.0.0.1). */
  envelope?: Partial<RelayConfig['envelope']>;
  /** Overrides of the rtc section; absent: the WebRTC edge is off (cell scenarios). */
  rtc?: Partial<RelayConfig['rtc']>;
}

/** A load generator is one address joining many WebRTC peers: the edge's per-address limits lifted, ephemeral ports. */
export const LOAD_RTC = { enabled: true, port: 0, joinRatePerSec: 1_000_000, joinBurst: 1_000_000, maxSessionsPerAddress: 65_535, maxSessions: 65_535 };

/** What the kit reads from the media core (met by the TypeScript MediaCore and the native CellCore alike). */
export type CoreView = Pick<MediaCore, 'stats' | 'sessionCount' | 'sessionStats'>;

export interface HostedRelay {
  url: string;
  /** Where cells go (127.0.0.1 and the bound UDP port). */
  udpPort: number;
  core: CoreView;
  /** RTP packets the WebRTC edge forwarded (one per receiver) and dropped, when it is on. */
  rtc?: () => { forwarded: number; drops: number };
  planes: string[];
  close(): Promise<void>;
}

/** Relay config: the schema's defaults, loopback, port 0 everywhere, TURN off, quiet logs. */
export function loadConfig(opts: HostOptions, dataDir: string): RelayConfig {
  const base = defaultConfig();
  return {
    ...base,
    host: '127.0.0.1',
    httpPort: 0,
    dataDir,
    logLevel: 'silent',
    envelope: { ...base.envelope, ...opts.envelope },
    turn: { ...base.turn, enabled: false },
    media: { ...base.media, enabled: true, udpPort: 0, ...opts.media },
    rtc: { ...base.rtc, ...(opts.rtc !== undefined ? { ...LOAD_RTC, ...opts.rtc } : { enabled: false }) },
  };
}

export async function hostRelay(opts: HostOptions = {}): Promise<HostedRelay> {
  const dataDir = mkdtempSync(join(tmpdir(), 'xrelay-load-'));
  try {
    const relay = await startRelay(loadConfig(opts, dataDir));
    const media = relay.media!;
    const rtc = relay.rtc;
    return {
      url: relay.url,
      udpPort: media.udpPort,
      core: media.core,
      ...(rtc !== undefined
        ? {
            rtc: () => {
              const c = rtc.metricsView.counters;
              return { forwarded: c.packets.audio + c.packets.video, drops: c.drops.not_connected + c.drops.client_message + c.drops.replay };
            },
          }
        : {}),
      planes: ['envelope', `media (${media.dataPlane} data plane)`, ...(rtc !== undefined ? ['rtc (WebRTC edge)'] : [])],
      async close(): Promise<void> {
        await relay.close();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}

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
  /** WebRTC edge: RTP packets forwarded (one per receiver) and dropped (not connected, replays, client messages). */
  rtcForwarded?: number;
  rtcDrops?: number;
}

export function coreCounters(core: CoreView, rtc?: HostedRelay['rtc']): CoreCounters {
  const s = core.stats;
  const r = rtc?.();
  return {
    ...(r !== undefined ? { rtcForwarded: r.forwarded, rtcDrops: r.drops } : {}),
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
        reply(m.id, { t: performance.timeOrigin + performance.now(), cpuMs: (cpu.user + cpu.system) / 1000, rssBytes: process.memoryUsage().rss, core: coreCounters(relay.core, relay.rtc) });
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
