/**
 * The standard Prometheus process metrics, read at scrape time: what a remote load test (and any
 * dashboard) needs to see the relay's CPU and memory without access to its host.
 */
import type { MetricsRegistry } from './metrics.js';

export function registerProcessMetrics(registry: MetricsRegistry, startedAtMs: number): void {
  const cpu = registry.counter('process_cpu_seconds_total', 'User and system CPU time spent by the relay process, in seconds.');
  const rss = registry.gauge('process_resident_memory_bytes', 'Resident memory of the relay process, in bytes.');
  const heap = registry.gauge('nodejs_heap_used_bytes', 'V8 heap in use, in bytes.');
  const start = registry.gauge('process_start_time_seconds', 'When the relay process started, in seconds since the epoch.');
  start.set(Math.floor(startedAtMs / 1000));
  let reported = 0;
  registry.onCollect(() => {
    const u = process.cpuUsage();
    const total = (u.user + u.system) / 1e6;
    cpu.inc(total - reported);
    reported = total;
    const m = process.memoryUsage();
    rss.set(m.rss);
    heap.set(m.heapUsed);
  });
}
