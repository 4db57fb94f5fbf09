/**
 * The relay under load, behind one interface whatever hosts it:
 * - `spawned` (default): a child process running relay-host.js (its own CPU and RSS, measured
 *   apart from the simulated clients), answering stats and per-sender samples over IPC;
 * - `in-process`: the same host in this process (tests; CPU/RSS then include the clients);
 * - `remote`: a URL; figures come from its /metrics when it exposes them, the relay's per-sender
 *   view is not available.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { coreCounters, hostRelay, SenderWatch, type CoreCounters, type HostOptions, type HostedRelay } from './relay-host.js';

export interface RelaySample {
  /** Epoch ms. */
  t: number;
  /** Cumulative CPU time (user + system) of the relay process, ms. */
  cpuMs?: number;
  rssBytes?: number;
  core?: CoreCounters;
}

export interface RelayTarget {
  readonly kind: 'spawned' | 'in-process' | 'remote';
  readonly url: string;
  /** Every node of a cluster target (`--relay URL,URL`), `url` first; absent: just `url`. */
  readonly urls?: readonly string[];
  /** The relay's UDP cell address when known (observer taps need it). */
  readonly udp?: { host: string; port: number };
  readonly pid?: number;
  readonly planes: string[];
  sample(): Promise<RelaySample>;
  /** Starts sampling per-sender accepted-record counters (relay table indexes); false if unavailable. */
  watchSenders(indexes: number[], periodMs: number): Promise<boolean>;
  /** Stops sampling; rows are [epoch ms, count per watched index...]. */
  collectSenders(): Promise<number[][]>;
  close(): Promise<void>;
}

export type TargetSpec =
  | { kind: 'spawned' | 'in-process'; host: HostOptions }
  /** `noMetrics`: do not poll /metrics (load shards, whose parent samples the relay). */
  | { kind: 'remote'; url: string; urls?: readonly string[]; udp?: { host: string; port: number }; noMetrics?: boolean };

export async function startTarget(spec: TargetSpec): Promise<RelayTarget> {
  if (spec.kind === 'remote') return { ...remoteTarget(spec.url, spec.udp, spec.noMetrics === true), ...(spec.urls !== undefined ? { urls: spec.urls } : {}) };
  if (spec.kind === 'in-process') return inProcessTarget(await hostRelay(spec.host));
  return spawnTarget(spec.host);
}

function inProcessTarget(relay: HostedRelay): RelayTarget {
  let watch: SenderWatch | undefined;
  return {
    kind: 'in-process',
    url: relay.url,
    udp: { host: '127.0.0.1', port: relay.udpPort },
    planes: relay.planes,
    async sample() {
      const cpu = process.cpuUsage();
      return { t: performance.timeOrigin + performance.now(), cpuMs: (cpu.user + cpu.system) / 1000, rssBytes: process.memoryUsage().rss, core: coreCounters(relay.core, relay.rtc) };
    },
    async watchSenders(indexes, periodMs) {
      watch?.stop();
      watch = new SenderWatch(relay.core, indexes, periodMs);
      return true;
    },
    async collectSenders() {
      const rows = watch?.stop() ?? [];
      watch = undefined;
      return rows;
    },
    close: () => relay.close(),
  };
}

/** The compiled host script beside this module (dist/src/load/relay-host.js). */
export function hostScript(): string | undefined {
  const js = fileURLToPath(new URL('./relay-host.js', import.meta.url));
  return existsSync(js) ? js : undefined;
}

async function spawnTarget(host: HostOptions): Promise<RelayTarget> {
  const script = hostScript();
  if (script === undefined) throw new Error('relay-host.js not built: run `npm run build` (or use the in-process relay)');
  const child: ChildProcess = fork(script, [], { env: { ...process.env, XRELAY_LOAD_HOST: JSON.stringify(host) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const pending = new Map<number, (m: Record<string, unknown>) => void>();
  let nextId = 1;
  const ready = new Promise<Record<string, unknown>>((resolve, reject) => {
    pending.set(0, resolve);
    child.once('exit', (code) => reject(new Error(`relay host exited with ${code} before it was ready`)));
    setTimeout(() => reject(new Error('relay host not ready within 15 s')), 15_000).unref();
  });
  child.on('message', (m: Record<string, unknown>) => {
    const id = m.id as number;
    const cb = pending.get(id);
    pending.delete(id);
    cb?.(m);
  });
  const ask = (body: Record<string, unknown>, timeoutMs = 10_000): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      if (!child.connected) return reject(new Error('relay host is gone'));
      const id = nextId++;
      const t = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`relay host did not answer ${String(body.type)}`));
      }, timeoutMs);
      pending.set(id, (m) => {
        clearTimeout(t);
        resolve(m);
      });
      child.send({ id, ...body });
    });
  const hello = await ready.catch((err: unknown) => {
    child.kill('SIGKILL');
    throw err;
  });
  return {
    kind: 'spawned',
    url: hello.url as string,
    udp: { host: '127.0.0.1', port: hello.udpPort as number },
    pid: child.pid,
    planes: hello.planes as string[],
    async sample() {
      const m = await ask({ type: 'stats' });
      return { t: m.t as number, cpuMs: m.cpuMs as number, rssBytes: m.rssBytes as number, core: m.core as CoreCounters };
    },
    async watchSenders(indexes, periodMs) {
      await ask({ type: 'watch', indexes, periodMs });
      return true;
    },
    async collectSenders() {
      return (await ask({ type: 'collect' }, 30_000)).rows as number[][];
    },
    async close() {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      await ask({ type: 'close' }).catch(() => undefined);
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
    },
  };
}

/** Reads a relay's /metrics (Prometheus text); figures it does not expose stay undefined. */
function remoteTarget(url: string, udp: { host: string; port: number } | undefined, noMetrics: boolean): RelayTarget {
  /** Sum of a metric's samples, optionally only those whose labels contain `label` (e.g. kind="dummy"). */
  const metric = (text: string, name: string, label?: string): number | undefined => {
    let sum: number | undefined;
    for (const line of text.split('\n')) {
      if (!(line.startsWith(name + ' ') || line.startsWith(name + '{'))) continue;
      if (label !== undefined && !line.slice(0, line.lastIndexOf(' ')).includes(label)) continue;
      sum = (sum ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    // A labelled counter that never moved renders no sample, only its # TYPE line: that is a 0.
    return sum ?? (text.includes(`# TYPE ${name} `) ? 0 : undefined);
  };
  return {
    kind: 'remote',
    url,
    ...(udp !== undefined ? { udp } : {}),
    planes: [],
    async sample() {
      const t = performance.timeOrigin + performance.now();
      if (noMetrics) return { t };
      const res = await fetch(new URL('/metrics', url)).catch(() => undefined);
      if (res === undefined || !res.ok) return { t };
      const text = await res.text();
      const cpu = metric(text, 'process_cpu_seconds_total');
      const rss = metric(text, 'process_resident_memory_bytes');
      const sent = metric(text, 'xrelay_media_cells_sent_total');
      const rtcForwarded = metric(text, 'xrelay_rtc_forwarded_packets_total');
      const rtcDrops = metric(text, 'xrelay_rtc_dropped_total');
      return {
        t,
        ...(cpu !== undefined ? { cpuMs: cpu * 1000 } : {}),
        ...(rss !== undefined ? { rssBytes: rss } : {}),
        core: {
          cellsIn: metric(text, 'xrelay_media_cells_received_total') ?? NaN,
          cellsOut: sent ?? NaN,
          dummyCellsOut: metric(text, 'xrelay_media_cells_sent_total', 'kind="dummy"') ?? NaN,
          recordsIn: metric(text, 'xrelay_media_records_received_total') ?? NaN,
          recordsOut: metric(text, 'xrelay_media_records_forwarded_total') ?? NaN,
          queueDrops: metric(text, 'xrelay_media_queue_drops_total', 'reason="full"') ?? NaN,
          staleDrops: metric(text, 'xrelay_media_queue_drops_total', 'reason="stale"') ?? NaN,
          missedTicks: metric(text, 'xrelay_media_pacer_missed_ticks_total') ?? NaN,
          drops: metric(text, 'xrelay_media_cells_dropped_total') ?? NaN,
          sessions: metric(text, 'xrelay_media_sessions') ?? NaN,
          ...(rtcForwarded !== undefined ? { rtcForwarded, rtcDrops: rtcDrops ?? NaN } : {}),
        },
      };
    },
    watchSenders: async () => false,
    collectSenders: async () => [],
    close: async () => undefined,
  };
}
