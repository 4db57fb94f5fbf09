/**
 * Runs one scenario against a relay: joins every simulated participant (the project's CallClient),
 * drives synthetic speech or video on one frame clock per group, churns members when asked,
 * samples the relay and the clients every second for the live line and the timeline, then drains,
 * leaves and hands everything measured to the report. Bounded: the measured phase lasts exactly
 * the scenario's duration, and every socket and child process is closed at the end.
 */
import { performance } from 'node:perf_hooks';
import { isTalking, opusFrameBytes, talkSchedule, videoFramePackets, P59 } from './speech.js';
import { nowEpochMs } from './frames.js';
import { addLatency, defineSeries, figures, LatencyRecorder, sampleJitter, type IntervalFigures, type SeriesDef } from './intervals.js';
import { Member, newRoom, type Collector, type Room } from './members.js';
import { startTarget, type RelaySample, type RelayTarget, type TargetSpec } from './relay-target.js';
import { seededRng, subSeed } from './rng.js';
import type { Scenario } from './scenario.js';
import type { CallStats } from '../client/call/call-client.js';
import { Sink } from './leak/unpadded.js';
import { RTP_HEADER_BYTES } from './leak/unpadded.js';

export interface RunOptions {
  scenario: Scenario;
  durationMs: number;
  target: TargetSpec;
  /** Called every second with a one-line status, and once at the end with final = true. */
  progress?: (line: string, final: boolean) => void;
  /** Drive only rooms with index % count === index (client load split over processes: shards.ts). */
  shard?: { index: number; count: number };
  /** Envelope storm, run alongside the calls when the scenario has one (envelope-storm.ts). */
  envelopes?: (url: string, durationMs: number) => Promise<unknown>;
}

/**
 * One interval of the measured phase (1 s; the last one may be shorter). Latency and jitter are by
 * arrival in the interval (the last one also holds what arrived in the drain after the stop);
 * expected and lost by send time in it (filled by the report).
 */
export interface TimelinePoint extends IntervalFigures {
  /** End of the interval, seconds since the measured phase began. */
  t: number;
  /** Length of the interval, s. */
  dt: number;
  framesSentPerSec: number;
  framesDeliveredPerSec: number;
  relayCellsInPerSec?: number;
  relayCellsOutPerSec?: number;
  relayCpuPct?: number;
  relayRssMB?: number;
  liveClients: number;
  /** The same figures per series (report.series: rooms, or groups when there are many rooms). */
  series: IntervalFigures[];
}

export interface RunData {
  scenario: Scenario;
  durationMs: number;
  target: { kind: RelayTarget['kind']; url: string; pid?: number; planes: string[] };
  t0: number;
  rooms: Room[];
  members: Member[];
  latency: LatencyRecorder;
  series: SeriesDef;
  /** Epoch ms of the interval boundaries: timeline[k] covers [bounds[k], bounds[k+1]). */
  intervalBounds: number[];
  /** Media bytes delivered (unique). */
  deliveredBytes: number;
  timeline: TimelinePoint[];
  relayStart?: RelaySample;
  relayEnd?: RelaySample;
  /** Samples of per-sender accepted records [epoch ms, per watched member...] (leak runs). */
  relayWatch: { members: Member[]; rows: number[][] };
  joins: { count: number; failed: number; initial: number; firstPhaseMs: number; latencies: number[]; errors: Record<string, number> };
  envelopes?: unknown;
  /** SDK counters summed over all clients, read right after relayEnd. */
  clientsAtEnd: ClientTotals;
  settleMs: number;
  graceMs: number;
}

const SETTLE_MS = 300;
const GRACE_MS = 100;
const DRAIN_MS = 600;
const JOIN_CONCURRENCY = 8;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function runScenario(opts: RunOptions): Promise<RunData> {
  const sc = opts.scenario;
  const leak = sc.leak === true;
  const target = await startTarget(opts.target);
  const sink = leak ? new Sink() : undefined;
  await sink?.start();
  const totalRooms = sc.groups.reduce((a, g) => a + g.rooms, 0);
  const series = defineSeries(sc.groups, totalRooms);
  const collector: Collector = { latency: new LatencyRecorder(series.def.labels.length), deliveredTick: 0, deliveredBytes: 0, closed: false };
  const rooms: Room[] = [];
  const members: Member[] = [];
  const joins = { count: 0, failed: 0, initial: 0, firstPhaseMs: 0, latencies: [] as number[], errors: {} as Record<string, number> };
  const timers: NodeJS.Timeout[] = [];
  let framesSentTick = 0;
  let t0 = Infinity;
  let stopAt = Infinity;
  const data: Partial<RunData> = {};
  try {
    // 1. Rooms and members, joined with bounded concurrency (joins/s is measured here).
    let nextId = 1;
    let roomIndex = 0;
    sc.groups.forEach((g, gi) => {
      for (let r = 0; r < g.rooms; r++) {
        const index = roomIndex++;
        // Sharded runs: this process drives every count-th room (whole rooms, so accounting stays local).
        if (opts.shard !== undefined && index % opts.shard.count !== opts.shard.index) {
          nextId += g.participants;
          continue;
        }
        const padded = g.e2ePadding === 'alternate' ? r % 2 === 1 : g.e2ePadding;
        const room = newRoom(index, gi, padded, series.ofRoom(index, gi, padded));
        rooms.push(room);
        for (let i = 0; i < g.participants; i++) members.push(makeMember(nextId++, room, i));
      }
    });
    function makeMember(id: number, room: Room, i: number): Member {
      const g = sc.groups[room.group]!;
      const rng = seededRng(subSeed(sc.seed, id));
      const talk = g.media === 'audio' ? talkSchedule(rng, g.speech ?? P59, opts.durationMs) : undefined;
      const m = new Member(id, room, g, rng, talk, leak || i < (g.observe ?? 1));
      room.members.push(m);
      return m;
    }
    const joinOne = async (m: Member): Promise<void> => {
      try {
        await m.join(target.url, target.udp, collector, sink?.port);
        joins.count++;
        joins.latencies.push(m.joinMs);
      } catch (err) {
        joins.failed++;
        const code = (err as { code?: string }).code ?? (err as Error).message.slice(0, 60);
        joins.errors[code] = (joins.errors[code] ?? 0) + 1;
        m.closeTaps();
      }
    };
    const joinStart = performance.now();
    for (let i = 0; i < members.length; i += JOIN_CONCURRENCY) await Promise.all(members.slice(i, i + JOIN_CONCURRENCY).map(joinOne));
    joins.firstPhaseMs = performance.now() - joinStart;
    joins.initial = members.length;
    opts.progress?.(`joined ${joins.count}/${members.length} participants in ${(joins.firstPhaseMs / 1000).toFixed(1)} s (${joins.failed} failed)`, false);

    // 2. Measured phase: one frame clock per group, churn timers, a sampler every second.
    t0 = nowEpochMs() + 500;
    stopAt = t0 + opts.durationMs;
    if (leak) {
      const watched = members.filter((m) => m.call !== undefined);
      data.relayWatch = { members: watched, rows: [] };
      await target.watchSenders(watched.map((m) => m.call!.session & 0xffff), 20);
    }
    data.relayStart = await target.sample();
    sc.groups.forEach((g, gi) => {
      const frameMs = g.media === 'audio' ? 20 : 1000 / (g.video?.fps ?? 30);
      const groupMembers = (): Member[] => rooms.filter((r) => r.group === gi).flatMap((r) => r.members);
      timers.push(
        setInterval(() => {
          const now = nowEpochMs();
          if (now < t0 || now >= stopAt) return;
          const k = Math.floor((now - t0) / frameMs);
          for (const m of groupMembers()) {
            if (!m.live) continue;
            // Catch up at most 3 frames after a stall (a real encoder would not burst more).
            if (m.nextFrame < k - 3) m.nextFrame = k - 3;
            for (; m.nextFrame <= k; m.nextFrame++) framesSentTick += sendFrame(m, m.nextFrame, frameMs);
          }
        }, Math.max(1, Math.floor(frameMs / 2))),
      );
      if (g.churn !== undefined) {
        timers.push(
          setInterval(() => {
            if (nowEpochMs() >= stopAt - 1000) return;
            for (const room of rooms.filter((r) => r.group === gi)) void churn(room);
          }, g.churn.everyMs),
        );
      }
    });
    function sendFrame(m: Member, k: number, frameMs: number): number {
      const g = m.group;
      if (g.media === 'audio') {
        const talking = isTalking(m.talk!, k * frameMs);
        m.mirror?.sendFrame(opusFrameBytes(m.rng, talking));
        if (!talking) return 0;
        m.sendFrame(RTP_HEADER_BYTES + opusFrameBytes(m.rng, true));
        return 1;
      }
      const v = g.video ?? { frameBytes: 3300, fps: 30, gop: 60 };
      const packets = videoFramePackets(m.rng, k, v.frameBytes, v.gop, m.call?.capacity ?? 1000);
      for (const size of packets) m.sendFrame(size);
      return packets.length;
    }
    async function churn(room: Room): Promise<void> {
      const live = room.members.filter((m) => m.live);
      if (live.length === 0) return;
      const rng = seededRng(subSeed(sc.seed, room.index, Math.floor(nowEpochMs())));
      const out = live[Math.floor(rng() * live.length)]!;
      const fresh = makeMember(nextId++, room, room.members.length);
      members.push(fresh);
      await Promise.all([out.leave(), joinOne(fresh)]);
      fresh.nextFrame = Math.floor((nowEpochMs() - t0) / (fresh.group.media === 'audio' ? 20 : 1000 / (fresh.group.video?.fps ?? 30)));
    }
    const storm = opts.envelopes !== undefined && sc.envelopes !== undefined ? opts.envelopes(target.url, opts.durationMs) : undefined;

    const { timeline, bounds } = await sampleIntervals(target, t0, stopAt, {
      cutCounts: () => {
        const out = [framesSentTick, collector.deliveredTick] as const;
        framesSentTick = 0;
        collector.deliveredTick = 0;
        return out;
      },
      latency: collector.latency,
      members,
      seriesCount: series.def.labels.length,
      ...(opts.progress !== undefined ? { progress: (p: TimelinePoint) => opts.progress!(progressLine(p, opts.durationMs, collector.latency.count), false) } : {}),
    });
    for (const t of timers) clearInterval(t);
    timers.length = 0;

    // 3. Drain, collect the relay's view, leave.
    await sleep(DRAIN_MS);
    data.relayEnd = await target.sample().catch(() => undefined);
    // One synchronous step: the SDK's counters, the last latencies, and no frame counted after them.
    data.clientsAtEnd = clientTotals(members);
    for (const m of members) if (m.call !== undefined) m.e2eAtEnd = { status: m.call.e2ePaddingStatus, withheld: m.call.stats.dummiesWithheld };
    const drained = collector.latency.cut();
    collector.closed = true;
    // Frames sent before the stop that arrived in the drain count in the last interval.
    const last = timeline[timeline.length - 1];
    if (last !== undefined) {
      addLatency(last, drained.total);
      last.series.forEach((f, i) => addLatency(f, drained.series[i]!));
    }
    if (data.relayWatch !== undefined) data.relayWatch.rows = await target.collectSenders();
    data.envelopes = storm !== undefined ? await storm : undefined;
    await Promise.all(members.filter((m) => m.live).map((m) => m.leave().catch(() => undefined)));
    return {
      scenario: sc,
      durationMs: opts.durationMs,
      target: { kind: target.kind, url: target.url, ...(target.pid !== undefined ? { pid: target.pid } : {}), planes: target.planes },
      t0,
      rooms,
      members,
      latency: collector.latency,
      series: series.def,
      intervalBounds: bounds,
      deliveredBytes: collector.deliveredBytes,
      timeline,
      ...(data.relayStart !== undefined ? { relayStart: data.relayStart } : {}),
      ...(data.relayEnd !== undefined ? { relayEnd: data.relayEnd } : {}),
      relayWatch: data.relayWatch ?? { members: [], rows: [] },
      joins,
      envelopes: data.envelopes,
      clientsAtEnd: data.clientsAtEnd,
      settleMs: SETTLE_MS,
      graceMs: GRACE_MS,
    };
  } finally {
    for (const t of timers) clearInterval(t);
    await Promise.all(members.map((m) => m.call?.close()));
    for (const m of members) m.closeTaps();
    sink?.close();
    await target.close();
  }
}

/** The SDK's own per-call counters, summed over every member. */
export type ClientTotals = CallStats;

function clientTotals(members: Member[]): ClientTotals {
  const t: ClientTotals = { packetsSent: 0, dummiesSent: 0, packetsReceived: 0, dummiesReceived: 0, e2eRejected: 0, sendQueueDrops: 0, missedTicks: 0, dummiesWithheld: 0, e2ePaddingSuspensions: 0, transportFailovers: 0 };
  for (const m of members) {
    const s = m.call?.stats;
    if (s === undefined) continue;
    for (const k of Object.keys(t) as Array<keyof ClientTotals>) t[k] += s[k];
  }
  return t;
}

function progressLine(p: TimelinePoint, durationMs: number, delivered: number): string {
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
  if (p.relayCellsOutPerSec !== undefined) parts.push(`cells out ${p.relayCellsOutPerSec.toFixed(0)}/s`);
  return parts.join(' | ');
}

interface IntervalSources {
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
async function sampleIntervals(target: RelayTarget, t0: number, stopAt: number, src: IntervalSources): Promise<{ timeline: TimelinePoint[]; bounds: number[] }> {
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
  }
  if (b.cpuMs !== undefined && a.cpuMs !== undefined) point.relayCpuPct = ((b.cpuMs - a.cpuMs) / (dt * 1000)) * 100;
  if (b.rssBytes !== undefined) point.relayRssMB = b.rssBytes / 2 ** 20;
}
