/**
 * The measured phase's sampler: figures cut every second (and at the stop), the relay read at each
 * cut, and the live progress line.
 */
import { nowEpochMs } from './frames.js';
import { figures, sampleJitter, type LatencyRecorder } from './intervals.js';
import type { Member } from './members.js';
import type { RelaySample, RelayTarget } from './relay-target.js';
import type { TimelinePoint } from './runner.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function progressLine(p: TimelinePoint, durationMs: number, delivered: number): string {
  const q = (v: number): string => (Number.isNaN(v) ? '-' : v.toFixed(1));
  const parts = [
    `[${p.t.toFixed(0).padStart(3)}/${(durationMs / 1000).toFixed(0)} s]`,
    `clients ${p.liveClients}`,
    `sent ${p.framesSentPerSec.toFixed(0)}/s`,
    `delivered ${delivered} (${p.framesDeliveredPerSec.toFixed(0)}/s)`,
    `latency p50 ${q(p.latencyMs.p50)} p99 ${q(p.latencyMs.p99)} ms`,
    `jitter ${q(p.jitterMs)} ms`,
  ];
  if (p.relayCpuPct !== undefined) parts.push(`relay cpu ${p.relayCpuPct.toFixed(0)}%`);
  if (p.relayRssMB !== undefined) parts.push(`rss ${p.relayRssMB.toFixed(0)} MB`);
  if (p.relayCellsOutPerSec !== undefined && (p.relayRtpOutPerSec === undefined || p.relayCellsOutPerSec > 0)) parts.push(`cells out ${p.relayCellsOutPerSec.toFixed(0)}/s`);
  if (p.relayRtpOutPerSec !== undefined) parts.push(`rtp out ${p.relayRtpOutPerSec.toFixed(0)}/s`);
  return parts.join(' | ');
}

export interface IntervalSources {
  /** Frames sent and delivered since the last call (then zeroed). */
  cutCounts: () => readonly [number, number];
  latency: LatencyRecorder;
  members: Member[];
  seriesCount: number;
  progress?: (p: TimelinePoint) => void;
}

/**
 * The sampler of the measured phase: cuts every figure at t0 + 1 s, + 2 s, ... and at stopAt
 * exactly (no point outside the phase), and reads the relay at each cut. Returns the timeline and
 * the interval bounds (epoch ms).
 */
export async function sampleIntervals(target: RelayTarget, t0: number, stopAt: number, src: IntervalSources): Promise<{ timeline: TimelinePoint[]; bounds: number[] }> {
  const timeline: TimelinePoint[] = [];
  const bounds = [t0];
  await sleep(Math.max(0, t0 - nowEpochMs()));
  let prev = await target.sample().catch(() => undefined);
  src.cutCounts();
  src.latency.cut();
  let cutAt = nowEpochMs();
  for (let k = 1; bounds[bounds.length - 1]! < stopAt; k++) {
    const end = Math.min(stopAt, t0 + k * 1000);
    await sleep(Math.max(0, end - nowEpochMs()));
    const now = nowEpochMs();
    const dt = Math.max(0.001, (now - cutAt) / 1000);
    cutAt = now;
    const [sent, delivered] = src.cutCounts();
    const lat = src.latency.cut();
    const jitter = sampleJitter(src.members, src.seriesCount);
    bounds.push(end);
    const s = await target.sample().catch(() => undefined);
    const point: TimelinePoint = {
      t: Math.round((end - t0) / 100) / 10,
      dt: Math.round(dt * 1000) / 1000,
      framesSentPerSec: sent / dt,
      framesDeliveredPerSec: delivered / dt,
      liveClients: src.members.filter((m) => m.live).length,
      ...figures(lat.total, 0, 0, jitter.total),
      series: [],
    };
    // One histogram encoding (~1-6 ms) per turn of the event loop, so client ticks are not held up.
    for (const [i, h] of lat.series.entries()) {
      await new Promise<void>((r) => setImmediate(r));
      point.series.push(figures(h, 0, 0, jitter.series[i]!));
    }
    addRelayRates(point, prev, s);
    if (s !== undefined) prev = s;
    timeline.push(point);
    src.progress?.(point);
  }
  return { timeline, bounds };
}

/** Relay cells/s, CPU % and RSS between two samples (when the target exposes them). */
export function addRelayRates(point: TimelinePoint, a: RelaySample | undefined, b: RelaySample | undefined): void {
  if (a === undefined || b === undefined) return;
  const dt = (b.t - a.t) / 1000;
  if (!(dt > 0)) return;
  if (b.core !== undefined && a.core !== undefined) {
    point.relayCellsInPerSec = (b.core.cellsIn - a.core.cellsIn) / dt;
    point.relayCellsOutPerSec = (b.core.cellsOut - a.core.cellsOut) / dt;
    if (b.core.rtcForwarded !== undefined && a.core.rtcForwarded !== undefined) point.relayRtpOutPerSec = (b.core.rtcForwarded - a.core.rtcForwarded) / dt;
  }
  if (b.cpuMs !== undefined && a.cpuMs !== undefined) point.relayCpuPct = ((b.cpuMs - a.cpuMs) / (dt * 1000)) * 100;
  if (b.rssBytes !== undefined) point.relayRssMB = b.rssBytes / 2 ** 20;
}
