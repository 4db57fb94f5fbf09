/**
 * From what a run measured to the report: loss accounting per (sender, receiver) pair, latency and
 * jitter, relay figures, consistency checks, and the leak meter's views.
 *
 * Accounting: a frame a sender sent at time t is *expected* at a receiver of the same room when the
 * receiver had joined (plus a settle time) before t and had not left (minus a grace time) by then.
 * For each pair, expected = delivered + lost exactly; deliveries outside that window are counted
 * apart as `extraDeliveries` (churn edges), never hidden in either.
 */
import { measureLeak, type LeakReport, type LeakSubject } from '../leak/meter.js';
import type { Member } from './members.js';
import type { ClientTotals, RunData, TimelinePoint } from './runner.js';
import type { CoreCounters } from './relay-host.js';

export interface Quantiles {
  n: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export function quantiles(xs: ArrayLike<number>): Quantiles {
  const s = Float64Array.from(xs as ArrayLike<number>).sort();
  const n = s.length;
  const q = (f: number): number => (n === 0 ? NaN : s[Math.min(n - 1, Math.floor(f * n))]!);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += s[i]!;
  return { n, mean: n === 0 ? NaN : sum / n, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: n === 0 ? NaN : s[n - 1]! };
}

export interface Delivery {
  framesSent: number;
  expectedDeliveries: number;
  delivered: number;
  lost: number;
  lossPct: number;
  extraDeliveries: number;
  duplicates: number;
  outOfOrder: number;
  /** Mean RFC 3550 interarrival jitter over sender→receiver pairs, ms. */
  jitterMs: number;
}

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface Report {
  kind: 'xrelay-load-report/v1';
  scenario: { name: string; description: string; seed: number; durationMs: number; groups: RunData['scenario']['groups'] };
  startedAt: string;
  target: RunData['target'];
  clients: {
    participants: number;
    rooms: number;
    joined: number;
    joinFailed: number;
    joinErrors: Record<string, number>;
    /** Initial joins (bounded concurrency 8) per second of the join phase. */
    joinsPerSec: number;
    /** Joins made during the measured phase (churn) and their rate. */
    midRunJoins: number;
    midRunJoinsPerSec: number;
    joinLatencyMs: Quantiles;
  };
  media: Delivery & {
    latencyMs: Quantiles;
    framesPerSec: number;
    deliveriesPerSec: number;
    /** Media payload (the packets inside e2e records) sent and delivered, kbit/s. */
    payloadSentKbps: number;
    payloadDeliveredKbps: number;
    sdk: ClientTotals;
  };
  groups: Array<{ name: string; profile: string; participants: number } & Delivery>;
  relay: {
    cpuSeconds?: number;
    cpuPct?: number;
    rssMB?: number;
    rssMaxMB?: number;
    /** Relay counters from just before the measured phase to after the drain (joins excluded). */
    counters?: CoreCounters;
    /** Share of the relay's cells that carried no record (hop padding). */
    dummyShare?: number;
    note: string;
  };
  wire: Array<{ group: string; upSizes: number[]; downSizes: number[]; upCellsPerSec: number; downCellsPerSec: number }>;
  consistency: Check[];
  /** Conditions that make figures less trustworthy (e.g. the load generator itself saturated). */
  warnings: string[];
  leak?: LeakReport;
  envelopes?: unknown;
  timeline: TimelinePoint[];
}

function deliveryOf(members: Member[], settle: number, grace: number): Delivery {
  const d = { framesSent: 0, expectedDeliveries: 0, delivered: 0, lost: 0, lossPct: 0, extraDeliveries: 0, duplicates: 0, outOfOrder: 0, jitterMs: 0 };
  let pairs = 0;
  let jitter = 0;
  for (const s of members) d.framesSent += s.sendTimes.length;
  for (const r of members) {
    if (r.call === undefined) continue;
    const lo = r.joinedAt + settle;
    const hi = r.leftAt - grace;
    for (const s of r.room.members) {
      if (s === r) continue;
      const track = r.tracks.get(s.id);
      let got = 0;
      for (let seq = 0; seq < s.sendTimes.length; seq++) {
        const t = s.sendTimes.get(seq);
        if (t < lo || t > hi) continue;
        d.expectedDeliveries++;
        if (track?.got.has(seq) === true) got++;
      }
      d.delivered += got;
      d.extraDeliveries += (track?.unique ?? 0) - got;
      if (track !== undefined) {
        d.duplicates += track.duplicates;
        d.outOfOrder += track.outOfOrder;
        jitter += track.jitter;
        pairs++;
      }
    }
  }
  d.lost = d.expectedDeliveries - d.delivered;
  d.lossPct = d.expectedDeliveries === 0 ? 0 : (100 * d.lost) / d.expectedDeliveries;
  d.jitterMs = pairs === 0 ? NaN : jitter / pairs;
  return d;
}

export function leakSubjects(run: RunData): LeakSubject[] {
  const col = new Map<Member, number>();
  run.relayWatch.members.forEach((m, i) => col.set(m, i + 1));
  const out: LeakSubject[] = [];
  for (const m of run.members) {
    if (m.talk === undefined || m.call === undefined || m.joinedAt > run.t0) continue;
    const c = col.get(m);
    const relayRecords = c === undefined ? undefined : run.relayWatch.rows.filter((r) => !Number.isNaN(r[c]!)).map((r) => [r[0]!, r[c]!] as [number, number]);
    out.push({
      talk: m.talk,
      ...(m.tap !== undefined ? { padded: m.tap.trace() } : {}),
      ...(m.mirror !== undefined ? { unpadded: m.mirror.tap.trace() } : {}),
      ...(relayRecords !== undefined ? { relayRecords } : {}),
      // what the SDK did, not what the room asked for: padding is suspended in rooms past its limit
      e2ePadding: m.call.e2ePaddingStatus.active,
      roomSize: m.room.members.filter((x) => x.call !== undefined).length,
    });
  }
  return out;
}

export function buildReport(run: RunData, startedAt: Date): Report {
  const whole = deliveryOf(run.members, run.settleMs, run.graceMs);
  const sec = run.durationMs / 1000;
  const groups = run.scenario.groups.map((g, gi) => {
    const ms = run.members.filter((m) => m.room.group === gi);
    const d = deliveryOf(ms, run.settleMs, run.graceMs);
    return { name: g.name, profile: g.profile, participants: ms.length, ...d };
  });
  const lat = quantiles(run.latencies.view());
  const sdk = run.clientsAtEnd;
  const a = run.relayStart;
  const b = run.relayEnd;
  const relay: Report['relay'] = {
    note:
      run.target.kind === 'spawned'
        ? 'relay in its own process (spawned): CPU and RSS are the relay alone'
        : run.target.kind === 'in-process'
          ? 'relay in the load process: CPU and RSS include the simulated clients'
          : 'remote relay: figures from its /metrics where exposed',
  };
  if (a?.cpuMs !== undefined && b?.cpuMs !== undefined) {
    relay.cpuSeconds = (b.cpuMs - a.cpuMs) / 1000;
    relay.cpuPct = (100 * (b.cpuMs - a.cpuMs)) / (b.t - a.t);
  }
  if (b?.rssBytes !== undefined) relay.rssMB = b.rssBytes / 2 ** 20;
  const rssSeen = run.timeline.map((p) => p.relayRssMB ?? 0);
  if (rssSeen.some((v) => v > 0)) relay.rssMaxMB = Math.max(...rssSeen, relay.rssMB ?? 0);
  if (b?.core !== undefined) {
    relay.counters = counterDelta(a?.core, b.core);
    relay.dummyShare = relay.counters.dummyCellsOut / relay.counters.cellsOut;
  }
  const wire = run.scenario.groups.map((g, gi) => {
    const traces = run.members.filter((m) => m.room.group === gi && m.tap !== undefined).map((m) => m.tap!.trace());
    const up = new Set<number>();
    const down = new Set<number>();
    let nUp = 0;
    let nDown = 0;
    for (const tr of traces) {
      for (let i = 0; i < tr.count; i++) {
        const t = tr.t[i]!;
        if (t < run.t0 || t >= run.t0 + run.durationMs) continue;
        if (tr.up[i] === 1) {
          up.add(tr.size[i]!);
          nUp++;
        } else {
          down.add(tr.size[i]!);
          nDown++;
        }
      }
    }
    const k = Math.max(1, traces.length) * sec;
    return { group: g.name, upSizes: [...up].sort((x, y) => x - y), downSizes: [...down].sort((x, y) => x - y), upCellsPerSec: nUp / k, downCellsPerSec: nDown / k };
  });
  const consistency = checks(run, whole, sdk);
  const report: Report = {
    kind: 'xrelay-load-report/v1',
    scenario: { name: run.scenario.name, description: run.scenario.description, seed: run.scenario.seed, durationMs: run.durationMs, groups: run.scenario.groups },
    startedAt: startedAt.toISOString(),
    target: run.target,
    clients: {
      participants: run.members.length,
      rooms: run.rooms.length,
      joined: run.joins.count,
      joinFailed: run.joins.failed,
      joinErrors: run.joins.errors,
      joinsPerSec: run.joins.initial / Math.max(0.001, run.joins.firstPhaseMs / 1000),
      midRunJoins: run.members.length - run.joins.initial,
      midRunJoinsPerSec: (run.members.length - run.joins.initial) / sec,
      joinLatencyMs: quantiles(run.joins.latencies),
    },
    media: { ...whole, latencyMs: lat, framesPerSec: whole.framesSent / sec, deliveriesPerSec: (whole.delivered + whole.extraDeliveries) / sec,
      payloadSentKbps: (8 * run.members.reduce((a, m) => a + m.bytesSent, 0)) / run.durationMs,
      payloadDeliveredKbps: (8 * run.deliveredBytes) / run.durationMs,
      sdk,
    },
    groups,
    relay,
    wire,
    consistency,
    warnings: warningsOf(run),
    timeline: run.timeline,
  };
  if (run.scenario.leak === true) report.leak = measureLeak(leakSubjects(run), run.t0, run.durationMs);
  if (run.envelopes !== undefined) report.envelopes = run.envelopes;
  return report;
}


/** Counters over the run (end minus start; a remote relay's counters start before the run). */
function counterDelta(a: CoreCounters | undefined, b: CoreCounters): CoreCounters {
  if (a === undefined) return b;
  const out = { ...b };
  for (const k of Object.keys(b) as Array<keyof CoreCounters>) if (k !== 'sessions') out[k] = b[k] - a[k];
  return out;
}

function warningsOf(run: RunData): string[] {
  const out: string[] = [];
  // Each client sends one cell per tick; missed ticks mean the load process could not keep up.
  const cells = run.members.reduce((a, m) => a + (m.call === undefined ? 0 : m.call.stats.missedTicks), 0);
  const expectedTicks = run.members.reduce((a, m) => (m.call === undefined ? a : a + (run.durationMs / m.call.profile.tickMs)), 0);
  if (cells > 0.01 * expectedTicks) {
    out.push(`load generator saturated: clients missed ${cells} of ~${Math.round(expectedTicks)} ticks (${((100 * cells) / expectedTicks).toFixed(1)}%); latency, jitter and loss include client-side stalls. Use fewer clients per load process or a bigger machine.`);
  }
  return out;
}

function checks(run: RunData, d: Delivery, sdk: ClientTotals): Check[] {
  const out: Check[] = [];
  const add = (name: string, ok: boolean, detail: string): void => {
    out.push({ name, ok, detail });
  };
  add('expected = delivered + lost', d.expectedDeliveries === d.delivered + d.lost && d.lost >= 0, `${d.expectedDeliveries} = ${d.delivered} + ${d.lost}`);
  const unique = d.delivered + d.extraDeliveries;
  add('latency samples = unique deliveries', run.latencies.length === unique, `${run.latencies.length} vs ${unique}`);
  // A member that leaves mid-run may strand frames in its SDK send queue (its leave records take
  // the uplink cells): at most one queue (16) per mid-run leave, and none without churn.
  const leaves = run.members.filter((m) => m.leftAt < run.t0 + run.durationMs).length;
  const stranded = d.framesSent - sdk.packetsSent - sdk.sendQueueDrops;
  add(
    'kit frames = SDK packets sent + send-queue drops (+ frames stranded by mid-run leaves)',
    stranded === 0 || (stranded > 0 && stranded <= 16 * leaves),
    `${d.framesSent} = ${sdk.packetsSent} + ${sdk.sendQueueDrops}${stranded !== 0 ? ` + ${stranded} stranded by ${leaves} leaves` : ''}`,
  );
  add('SDK frames received = unique + duplicates (+ extra)', sdk.packetsReceived === unique + d.duplicates, `${sdk.packetsReceived} vs ${unique} + ${d.duplicates}`);
  const churn = run.scenario.groups.some((g) => g.churn !== undefined);
  if (!churn && run.joins.failed === 0) {
    let ideal = 0;
    for (const s of run.members) ideal += s.sendTimes.length * (s.room.members.length - 1);
    add('no churn: expected = Σ sent × (room size − 1)', ideal === d.expectedDeliveries, `${ideal} vs ${d.expectedDeliveries}`);
  }
  const storm = run.envelopes as { posts?: { accepted: number }; reads?: { received: number }; inFlightAtStop?: number } | undefined;
  if (storm?.posts !== undefined && storm.reads !== undefined) {
    // autocannon stops with up to connections × pipelining posts in flight: stored, but their 202 never counted.
    const slack = storm.inFlightAtStop ?? 0;
    const { accepted } = storm.posts;
    const read = storm.reads.received;
    add('envelopes: accepted (202) <= read <= accepted + posts in flight at stop', accepted <= read && read <= accepted + slack, `${accepted} <= ${read} <= ${accepted} + ${slack}`);
  }
  const core = run.relayEnd?.core;
  if (core !== undefined && run.target.kind !== 'remote') {
    const records = sdk.packetsSent + sdk.dummiesSent;
    const slack = 3 * run.members.length + 0.01 * records;
    add('relay records accepted ≈ SDK records sent (fresh relay)', Math.abs(core.recordsIn - records) <= slack, `${core.recordsIn} vs ${records} (slack ${slack.toFixed(0)})`);
  }
  return out;
}
