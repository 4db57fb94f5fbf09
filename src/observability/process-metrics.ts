/**
 * The standard process and Node.js runtime metrics, read at scrape time, under the names the
 * Prometheus client libraries use (prom-client's default metrics, the Go/Python `process_*`
 * collectors), so stock dashboards and alerts work: what a remote load test (and any dashboard)
 * needs to see the relay's CPU, memory, descriptors and event-loop delay without access to its host.
 * Plus `xrelay_build_info{version,node}` = 1.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { relayVersion } from './build-info.js';
import type { MetricsRegistry } from './metrics.js';

/** Event-loop delay sampling period; prom-client's default (`eventLoopMonitoringPrecision`). */
const LOOP_RESOLUTION_MS = 10;

/** Registers the metrics; the returned function stops the event-loop monitor (relay close). */
export function registerProcessMetrics(registry: MetricsRegistry, startedAtMs: number): () => void {
  registerCpuAndMemory(registry, startedAtMs);
  registerFds(registry);
  const stopLoop = registerEventLoopDelay(registry);
  const v = process.versions.node.split('.');
  registry.gauge('nodejs_version_info', 'Node.js version, as labels; always 1.', ['version', 'major', 'minor', 'patch'])
    .set(1, [process.version, v[0] ?? '', v[1] ?? '', v[2] ?? '']);
  registry.gauge('xrelay_build_info', 'The relay\'s version and the Node.js it runs on, as labels; always 1.', ['version', 'node'])
    .set(1, [relayVersion(), process.version]);
  return stopLoop;
}

function registerCpuAndMemory(registry: MetricsRegistry, startedAtMs: number): void {
  const user = registry.counter('process_cpu_user_seconds_total', 'User CPU time spent by the relay process, in seconds.');
  const system = registry.counter('process_cpu_system_seconds_total', 'System CPU time spent by the relay process, in seconds.');
  const cpu = registry.counter('process_cpu_seconds_total', 'User and system CPU time spent by the relay process, in seconds.');
  const rss = registry.gauge('process_resident_memory_bytes', 'Resident memory of the relay process, in bytes.');
  const heapTotal = registry.gauge('nodejs_heap_size_total_bytes', 'V8 heap size, in bytes.');
  const heapUsed = registry.gauge('nodejs_heap_size_used_bytes', 'V8 heap in use, in bytes.');
  const external = registry.gauge('nodejs_external_memory_bytes', 'Memory of C++ objects bound to JavaScript objects (Buffers included), in bytes.');
  registry.gauge('process_start_time_seconds', 'When the relay process started, in seconds since the epoch.').set(Math.floor(startedAtMs / 1000));
  registry.onCollect(() => {
    const u = process.cpuUsage();
    user.follow(u.user / 1e6);
    system.follow(u.system / 1e6);
    cpu.follow((u.user + u.system) / 1e6);
    const m = process.memoryUsage();
    rss.set(m.rss);
    heapTotal.set(m.heapTotal);
    heapUsed.set(m.heapUsed);
    external.set(m.external);
  });
}

/** Linux only (/proc), as in the client libraries; elsewhere the two series are not exported. */
function registerFds(registry: MetricsRegistry): void {
  const max = maxFds();
  if (max === undefined) return;
  const open = registry.gauge('process_open_fds', 'Open file descriptors of the relay process.');
  registry.gauge('process_max_fds', 'Most file descriptors the relay process may open (its soft limit).').set(max);
  registry.onCollect(() => {
    try {
      open.set(readdirSync('/proc/self/fd').length - 1); // minus the one readdir itself holds
    } catch {
      /* /proc went away: keep the last figure */
    }
  });
}

function maxFds(): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/)[1];
    if (soft === undefined) return undefined;
    return soft === 'unlimited' ? Infinity : Number(soft);
  } catch {
    return undefined;
  }
}

/**
 * Event-loop delay from perf_hooks.monitorEventLoopDelay (how late a 10 ms timer fires), the figure
 * a realtime Node server most needs: the media pacer and every socket callback wait behind it.
 * prom-client's names; each scrape reports the delays seen since the previous scrape, then resets.
 */
function registerEventLoopDelay(registry: MetricsRegistry): () => void {
  const h = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  h.enable();
  const gauges = {
    min: registry.gauge('nodejs_eventloop_lag_min_seconds', 'Smallest event-loop delay since the previous scrape, in seconds.'),
    max: registry.gauge('nodejs_eventloop_lag_max_seconds', 'Largest event-loop delay since the previous scrape, in seconds.'),
    mean: registry.gauge('nodejs_eventloop_lag_mean_seconds', 'Mean event-loop delay since the previous scrape, in seconds.'),
    stddev: registry.gauge('nodejs_eventloop_lag_stddev_seconds', 'Standard deviation of the event-loop delay since the previous scrape, in seconds.'),
    p50: registry.gauge('nodejs_eventloop_lag_p50_seconds', 'Median event-loop delay since the previous scrape, in seconds.'),
    p90: registry.gauge('nodejs_eventloop_lag_p90_seconds', '90th percentile of the event-loop delay since the previous scrape, in seconds.'),
    p99: registry.gauge('nodejs_eventloop_lag_p99_seconds', '99th percentile of the event-loop delay since the previous scrape, in seconds.'),
  };
  registry.onCollect(() => {
    const none = h.count === 0; // no sample yet: min is the int64 sentinel and mean NaN
    const s = (ns: number): number => (none ? 0 : ns / 1e9);
    gauges.min.set(s(h.min));
    gauges.max.set(s(h.max));
    gauges.mean.set(s(h.mean));
    gauges.stddev.set(s(h.stddev));
    gauges.p50.set(s(h.percentile(50)));
    gauges.p90.set(s(h.percentile(90)));
    gauges.p99.set(s(h.percentile(99)));
    h.reset();
  });
  return () => h.disable();
}
