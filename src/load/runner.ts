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
import { addLatency, defineSeries, LatencyRecorder, type IntervalFigures, type SeriesDef } from './intervals.js';
import { Member, newRoom, type Collector, type RelayViews, type Room } from './members.js';
import { TraceRecorder } from './leak/tap.js';
import { startTarget, type RelaySample, type RelayTarget, type TargetSpec } from './relay-target.js';
import { seededRng, subSeed } from './rng.js';
import type { Scenario } from './scenario.js';
import type { CallStats } from '../client/call/call-client.js';
import { emptyCallStats } from '../client/call/call-types.js';
import { progressLine, sampleIntervals } from './sampler.js';
import { Sink } from './leak/unpadded.js';
import { RTP_HEADER_BYTES } from './leak/unpadded.js';
import { relaysFor } from './relay-list.js';

export interface RunOptions {
  scenario: Scenario;
  durationMs: number;
  target: TargetSpec;
  /** Called every second with a one-line status, and once at the end with final = true. */
  progress?: (line: string, final: boolean) => void;
  /** Drive only rooms with index % count === index (client load split over processes: shards.ts). */
  shard?: { index: number; count: number };
  /** Envelope storm, run alongside the calls when the scenario has one (envelope-storm.ts). */
  envelopes?: (urls: readonly string[], durationMs: number) => Promise<unknown>;
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
  /** RTP packets the WebRTC edge forwarded per second (one per receiver). */
  relayRtpOutPerSec?: number;
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
  /** Leak runs with WebRTC rooms: what the relay forwarded from each WebRTC sender, as one receiver got it. */
  relayViews?: RelayViews;
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
  const target = await startTarget(opts.target);
  const run = new ScenarioRun(opts, target);
  try {
    await run.sink?.start();
    await run.joinAll();
    const { storm } = await run.startMeasuring();
    const timeline = await run.measure();
    return await run.drain(timeline, storm);
  } finally {
    await run.close();
  }
}

type JoinTally = RunData['joins'];

/** One run's state and its phases: join (1), measure (2), drain and leave (3). */
class ScenarioRun {
  readonly sc: Scenario;
  readonly leak: boolean;
  readonly sink: Sink | undefined;
  readonly series: ReturnType<typeof defineSeries>;
  readonly collector: Collector;
  readonly rooms: Room[] = [];
  readonly members: Member[] = [];
  readonly joins: JoinTally = { count: 0, failed: 0, initial: 0, firstPhaseMs: 0, latencies: [], errors: {} };
  private readonly timers: NodeJS.Timeout[] = [];
  private framesSentTick = 0;
  private nextId = 1;
  private t0 = Infinity;
  private stopAt = Infinity;
  private relayStart: RelaySample | undefined;
  private relayWatch: RunData['relayWatch'] | undefined;

  constructor(
    private readonly opts: RunOptions,
    private readonly target: RelayTarget,
  ) {
    this.sc = opts.scenario;
    this.leak = this.sc.leak === true;
    this.sink = this.leak ? new Sink() : undefined;
    const totalRooms = this.sc.groups.reduce((a, g) => a + g.rooms, 0);
    this.series = defineSeries(this.sc.groups, totalRooms);
    this.collector = { latency: new LatencyRecorder(this.series.def.labels.length), deliveredTick: 0, deliveredBytes: 0, closed: false };
    this.buildRooms();
    if (this.leak) this.collector.relayViews = relayViewsOf(this.rooms);
  }

  /** Rooms and their members; a sharded run keeps every count-th room (whole rooms, so accounting stays local). */
  private buildRooms(): void {
    const shard = this.opts.shard;
    let roomIndex = 0;
    this.sc.groups.forEach((g, gi) => {
      for (let r = 0; r < g.rooms; r++) {
        const index = roomIndex++;
        if (shard !== undefined && index % shard.count !== shard.index) {
          this.nextId += g.participants;
          continue;
        }
        const padded = g.e2ePadding === 'alternate' ? r % 2 === 1 : g.e2ePadding;
        const room = newRoom(index, gi, padded, this.series.ofRoom(index, gi, padded));
        this.rooms.push(room);
        for (let i = 0; i < g.participants; i++) this.members.push(this.makeMember(this.nextId++, room, i));
      }
    });
  }

  private makeMember(id: number, room: Room, i: number): Member {
    const g = this.sc.groups[room.group]!;
    const rng = seededRng(subSeed(this.sc.seed, id));
    const talk = g.media === 'audio' ? talkSchedule(rng, g.speech ?? P59, this.opts.durationMs) : undefined;
    const m = new Member(id, room, g, rng, talk, this.leak || i < (g.observe ?? 1));
    room.members.push(m);
    return m;
  }

  private async joinOne(m: Member): Promise<void> {
    const joins = this.joins;
    try {
      // A WebRTC room lives in one node's edge table (no cluster redirect for it yet): all its members join node (room mod n).
      await m.join(relaysFor(this.target.urls ?? [this.target.url], m.rtc ? m.room.index : m.id), this.target.udp, this.collector, this.sink?.port);
      joins.count++;
      joins.latencies.push(m.joinMs);
    } catch (err) {
      joins.failed++;
      const code = (err as { code?: string }).code ?? (err as Error).message.slice(0, 60);
      joins.errors[code] = (joins.errors[code] ?? 0) + 1;
      m.closeTaps();
    }
  }

  /** 1. Every member joins, with bounded concurrency (joins/s is measured here). */
  async joinAll(): Promise<void> {
    const { members, joins } = this;
    const joinStart = performance.now();
    for (let i = 0; i < members.length; i += JOIN_CONCURRENCY) await Promise.all(members.slice(i, i + JOIN_CONCURRENCY).map((m) => this.joinOne(m)));
    joins.firstPhaseMs = performance.now() - joinStart;
    joins.initial = members.length;
    this.opts.progress?.(`joined ${joins.count}/${members.length} participants in ${(joins.firstPhaseMs / 1000).toFixed(1)} s (${joins.failed} failed)`, false);
  }

  /** 2a. The measured phase's clocks: one frame clock per group, churn timers; the envelope storm beside them. */
  async startMeasuring(): Promise<{ storm: Promise<unknown> | undefined }> {
    const { sc, target } = this;
    this.t0 = nowEpochMs() + 500;
    this.stopAt = this.t0 + this.opts.durationMs;
    if (this.leak) {
      // The media core's per-sender counters (cell sessions); WebRTC senders are seen through relayViews.
      const watched = this.members.filter((m) => m.call !== undefined && !m.rtc);
      this.relayWatch = { members: watched, rows: [] };
      await target.watchSenders(watched.map((m) => m.call!.session & 0xffff), 20);
    }
    this.relayStart = await target.sample();
    sc.groups.forEach((g, gi) => {
      const frameMs = frameMsOf(g);
      this.timers.push(setInterval(() => this.frameTick(gi, frameMs), Math.max(1, Math.floor(frameMs / 2))));
      if (g.churn !== undefined) {
        this.timers.push(
          setInterval(() => {
            if (nowEpochMs() >= this.stopAt - 1000) return;
            for (const room of this.rooms.filter((r) => r.group === gi)) void this.churn(room);
          }, g.churn.everyMs),
        );
      }
    });
    return { storm: this.opts.envelopes !== undefined && sc.envelopes !== undefined ? this.opts.envelopes(target.urls ?? [target.url], this.opts.durationMs) : undefined };
  }

  private frameTick(gi: number, frameMs: number): void {
    const now = nowEpochMs();
    if (now < this.t0 || now >= this.stopAt) return;
    const k = Math.floor((now - this.t0) / frameMs);
    for (const room of this.rooms) {
      if (room.group !== gi) continue;
      for (const m of room.members) {
        if (!m.live) continue;
        // Catch up at most 3 frames after a stall (a real encoder would not burst more).
        if (m.nextFrame < k - 3) m.nextFrame = k - 3;
        for (; m.nextFrame <= k; m.nextFrame++) this.framesSentTick += sendFrame(m, m.nextFrame, frameMs, now);
      }
    }
  }

  private async churn(room: Room): Promise<void> {
    const live = room.members.filter((m) => m.live);
    if (live.length === 0) return;
    const rng = seededRng(subSeed(this.sc.seed, room.index, Math.floor(nowEpochMs())));
    const out = live[Math.floor(rng() * live.length)]!;
    const fresh = this.makeMember(this.nextId++, room, room.members.length);
    this.members.push(fresh);
    await Promise.all([out.leave(), this.joinOne(fresh)]);
    fresh.nextFrame = Math.floor((nowEpochMs() - this.t0) / frameMsOf(fresh.group));
  }

  /** 2b. The sampler, every second of the measured phase; the clocks stop at its end. */
  async measure(): Promise<{ timeline: TimelinePoint[]; bounds: number[] }> {
    const { collector, opts } = this;
    const sampled = await sampleIntervals(this.target, this.t0, this.stopAt, {
      cutCounts: () => {
        const out = [this.framesSentTick, collector.deliveredTick] as const;
        this.framesSentTick = 0;
        collector.deliveredTick = 0;
        return out;
      },
      latency: collector.latency,
      members: this.members,
      seriesCount: this.series.def.labels.length,
      ...(opts.progress !== undefined ? { progress: (p: TimelinePoint) => opts.progress!(progressLine(p, opts.durationMs, collector.latency.count), false) } : {}),
    });
    this.stopClocks();
    return sampled;
  }

  /** 3. Drain, collect the relay's view, leave; everything measured, for the report. */
  async drain({ timeline, bounds }: { timeline: TimelinePoint[]; bounds: number[] }, storm: Promise<unknown> | undefined): Promise<RunData> {
    const { target, members, collector } = this;
    await sleep(DRAIN_MS);
    const relayEnd = await target.sample().catch(() => undefined);
    // One synchronous step: the SDK's counters, the last latencies, and no frame counted after them.
    const clientsAtEnd = clientTotals(members);
    for (const m of members) if (m.call !== undefined) m.e2eAtEnd = { status: m.call.e2ePaddingStatus, withheld: m.call.stats.dummiesWithheld };
    const drained = collector.latency.cut();
    collector.closed = true;
    // Frames sent before the stop that arrived in the drain count in the last interval.
    const last = timeline[timeline.length - 1];
    if (last !== undefined) {
      addLatency(last, drained.total);
      last.series.forEach((f, i) => addLatency(f, drained.series[i]!));
    }
    if (this.relayWatch !== undefined) this.relayWatch.rows = await target.collectSenders();
    const envelopes = storm !== undefined ? await storm : undefined;
    await Promise.all(members.filter((m) => m.live).map((m) => m.leave().catch(() => undefined)));
    return {
      scenario: this.sc,
      durationMs: this.opts.durationMs,
      target: { kind: target.kind, url: target.url, ...(target.pid !== undefined ? { pid: target.pid } : {}), planes: target.planes },
      t0: this.t0,
      rooms: this.rooms,
      members,
      latency: collector.latency,
      series: this.series.def,
      intervalBounds: bounds,
      deliveredBytes: collector.deliveredBytes,
      timeline,
      ...(this.relayStart !== undefined ? { relayStart: this.relayStart } : {}),
      ...(relayEnd !== undefined ? { relayEnd } : {}),
      relayWatch: this.relayWatch ?? { members: [], rows: [] },
      ...(collector.relayViews !== undefined && collector.relayViews.size > 0 ? { relayViews: collector.relayViews } : {}),
      joins: this.joins,
      envelopes,
      clientsAtEnd,
      settleMs: SETTLE_MS,
      graceMs: GRACE_MS,
    };
  }

  private stopClocks(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
  }

  /** Every socket and child process of the run, whatever phase it ended in. */
  async close(): Promise<void> {
    this.stopClocks();
    await Promise.all(this.members.map((m) => m.call?.close()));
    for (const m of this.members) m.closeTaps();
    this.sink?.close();
    await this.target.close();
  }
}

/** Each WebRTC sender's relay-side view is recorded by the next member of its room. */
function relayViewsOf(rooms: Room[]): RelayViews {
  const views: RelayViews = new Map();
  for (const room of rooms) {
    const ms = room.members;
    ms.forEach((m, i) => {
      if (m.rtc && ms.length > 1) views.set(m.id, { by: ms[(i + 1) % ms.length]!.id, trace: new TraceRecorder(1 << 17) });
    });
  }
  return views;
}

function frameMsOf(g: Member['group']): number {
  return g.media === 'audio' ? 20 : 1000 / (g.video?.fps ?? 30);
}

/** One frame of a member: audio (talk spurts, the unpadded mirror beside it) or video packets. Returns packets sent. */
/** `now`: the tick's time, the frames' send time (inside the measured phase even when sending them takes long, as werift's SRTP can in a stalled process). */
function sendFrame(m: Member, k: number, frameMs: number, now: number): number {
  const g = m.group;
  if (g.media === 'audio') {
    const talking = isTalking(m.talk!, k * frameMs);
    m.mirror?.sendFrame(opusFrameBytes(m.rng, talking));
    // WebRTC: DTX off, so a frame every 20 ms in silence too (comfort noise), sealed to the same size.
    if (m.rtc) {
      m.sendFrame(RTP_HEADER_BYTES + opusFrameBytes(m.rng, talking), now);
      return 1;
    }
    if (!talking) return 0;
    m.sendFrame(RTP_HEADER_BYTES + opusFrameBytes(m.rng, true), now);
    return 1;
  }
  const v = g.video ?? { frameBytes: 3300, fps: 30, gop: 60 };
  const packets = videoFramePackets(m.rng, k, v.frameBytes, v.gop, m.call?.capacity ?? 1000);
  for (const size of packets) m.sendFrame(size, now);
  return packets.length;
}

/** The SDK's own per-call counters, summed over every member. */
export type ClientTotals = CallStats;

function clientTotals(members: Member[]): ClientTotals {
  const t: ClientTotals = emptyCallStats();
  for (const m of members) {
    const s = m.call?.stats;
    if (s === undefined) continue;
    for (const k of Object.keys(t) as Array<keyof ClientTotals>) t[k] += s[k];
  }
  return t;
}
