/**
 * From what a run measured to the report: loss accounting per (sender, receiver) pair, latency and
 * jitter, relay figures, consistency checks, and the leak meter's views.
 *
 * Accounting: a frame a sender sent at time t is *expected* at a receiver of the same room when the
 * receiver had joined (plus a settle time) before t and had not left (minus a grace time) by then.
 * For each pair, expected = delivered + lost exactly; deliveries outside that window are counted
 * apart as `extraDeliveries` (churn edges), never hidden in either.
 */
import { measureLeak, type LeakReport, type LeakSubject } from './leak/meter.js';
import { quantilesOf, type Quantiles } from './histogram.js';
import { lossByInterval } from './intervals.js';
import type { Member } from './members.js';
import type { ClientTotals, RunData, TimelinePoint } from './runner.js';
import type { CoreCounters } from './relay-host.js';

export type { Quantiles };
/** Exact quantiles of a small list (join and envelope latencies). */
export const quantiles = quantilesOf;

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

/** What end-to-end padding did in a group: members that asked for it, members it was on for at the end, dummies withheld. */
export interface E2ePaddingFigures {
  requested: number;
  active: number;
  /** Dummies the SDK did not send because the room exceeded its padded limit (docs/PROTOCOL.md §9.1). */
  withheld: number;
  /** Largest padded room for this group's profile and record size (K), from the SDK. */
  limit: number;
}

export interface Report {
  kind: 'xrelay-load-report/v2';
  /** Epoch ms when the measured phase began (timeline times count from it). */
  measuredFromEpochMs: number;
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
    /** Every join's latency, ms (one per join: bounded by the scenario), for the join chart. */
    joinLatenciesMs: number[];
  };
  media: Delivery & {
    /** From an HDR histogram (3 significant digits); latencyHdr is that histogram, compressed base64, in us. */
    latencyMs: Quantiles;
    latencyHdr: string;
    framesPerSec: number;
    deliveriesPerSec: number;
    /** Media payload (the packets inside e2e records) sent and delivered, kbit/s. */
    payloadSentKbps: number;
    payloadDeliveredKbps: number;
    sdk: ClientTotals;
  };
  groups: Array<{ name: string; profile: string; participants: number; e2ePadding: E2ePaddingFigures } & Delivery>;
  /** The timeline's series (rooms, or groups when there are more than 8 rooms) over the whole run. */
  series: { by: 'room' | 'group'; list: Array<{ label: string; latencyMs: Quantiles; latencyHdr: string }> };
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
  /** Per group: datagram sizes the taps saw; for WebRTC groups also the most common size per direction and its share. */
  wire: Array<{ group: string; upSizes: number[]; downSizes: number[]; upCellsPerSec: number; downCellsPerSec: number; upTop?: { size: number; share: number }; downTop?: { size: number; share: number } }>;
  consistency: Check[];
  /** Conditions that make figures less trustworthy (e.g. the load generator itself saturated). */
  warnings: string[];
  leak?: LeakReport;
  envelopes?: unknown;
  /** Per-interval figures (1 s): rates, latency (with its histogram), loss, jitter, relay CPU/RSS, per series. */
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
    const roomSize = m.room.members.filter((x) => x.call !== undefined).length;
    if (m.rtc) {
      const relayView = run.relayViews?.get(m.id);
      out.push({
        talk: m.talk,
        ...(m.tap !== undefined ? { rtcWire: m.tap.trace() } : {}),
        ...(m.mirror !== undefined ? { unpadded: m.mirror.tap.trace() } : {}),
        ...(relayView !== undefined ? { rtcRelay: relayView.trace.trace() } : {}),
        e2ePadding: false,
        roomSize,
      });
      continue;
    }
    const c = col.get(m);
    const relayRecords = c === undefined ? undefined : run.relayWatch.rows.filter((r) => !Number.isNaN(r[c]!)).map((r) => [r[0]!, r[c]!] as [number, number]);
    out.push({
      talk: m.talk,
      ...(m.tap !== undefined ? { padded: m.tap.trace() } : {}),
      ...(m.mirror !== undefined ? { unpadded: m.mirror.tap.trace() } : {}),
      ...(relayRecords !== undefined ? { relayRecords } : {}),
      // what the SDK did, not what the room asked for: padding is suspended in rooms past its limit
      e2ePadding: m.call.e2ePaddingStatus.active,
      roomSize,
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
    return { name: g.name, profile: g.profile, participants: ms.length, e2ePadding: e2eOf(ms, run.t0 + run.durationMs), ...d };
  });
  const lat = run.latency.total.quantiles();
  const sdk = run.clientsAtEnd;
  const relay = relayFigures(run);
  const wire = wireFigures(run);
  const consistency = checks(run, whole, sdk);
  const timeline = withLoss(run);
  const ie = timeline.reduce((acc, p) => acc + p.expected, 0);
  const il = timeline.reduce((acc, p) => acc + p.lost, 0);
  consistency.push({ name: 'interval expected and lost add up to the run', ok: ie === whole.expectedDeliveries && il === whole.lost, detail: `${ie} = ${whole.expectedDeliveries}, ${il} = ${whole.lost}` });
  const report: Report = {
    kind: 'xrelay-load-report/v2',
    measuredFromEpochMs: run.t0,
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
      joinLatencyMs: quantilesOf(run.joins.latencies),
      joinLatenciesMs: run.joins.latencies.map((v) => Math.round(v * 10) / 10),
    },
    media: { ...whole, latencyMs: lat, latencyHdr: run.latency.total.encode(), framesPerSec: whole.framesSent / sec, deliveriesPerSec: (whole.delivered + whole.extraDeliveries) / sec,
      payloadSentKbps: (8 * run.members.reduce((a, m) => a + m.bytesSent, 0)) / run.durationMs,
      payloadDeliveredKbps: (8 * run.deliveredBytes) / run.durationMs,
      sdk,
    },
    groups,
    series: { by: run.series.by, list: run.series.labels.map((label, i) => ({ label, latencyMs: run.latency.series[i]!.quantiles(), latencyHdr: run.latency.series[i]!.encode() })) },
    relay,
    wire,
    consistency,
    warnings: warningsOf(run),
    timeline,
  };
  if (run.scenario.leak === true) report.leak = measureLeak(leakSubjects(run), run.t0, run.durationMs);
  if (run.envelopes !== undefined) report.envelopes = run.envelopes;
  return report;
}

/** The relay's CPU, RSS and counters over the run, as far as the target exposes them. */
function relayFigures(run: RunData): Report['relay'] {
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
  return relay;
}

/** Cell sizes and rates seen on the wire (the taps), per group, in the measured phase. */
function wireFigures(run: RunData): Report['wire'] {
  const sec = run.durationMs / 1000;
  return run.scenario.groups.map((g, gi) => {
    const traces = run.members.filter((m) => m.room.group === gi && m.tap !== undefined).map((m) => m.tap!.trace());
    const up = new Map<number, number>();
    const down = new Map<number, number>();
    let nUp = 0;
    let nDown = 0;
    for (const tr of traces) {
      for (let i = 0; i < tr.count; i++) {
        const t = tr.t[i]!;
        if (t < run.t0 || t >= run.t0 + run.durationMs) continue;
        const sizes = tr.up[i] === 1 ? up : down;
        sizes.set(tr.size[i]!, (sizes.get(tr.size[i]!) ?? 0) + 1);
        if (tr.up[i] === 1) nUp++;
        else nDown++;
      }
    }
    const k = Math.max(1, traces.length) * sec;
    const top = (sizes: Map<number, number>, total: number): { size: number; share: number } => {
      let best: [number, number] = [0, 0];
      for (const e of sizes) if (e[1] > best[1]) best = e;
      return { size: best[0], share: best[1] / Math.max(1, total) };
    };
    const rtc = g.transport === 'rtc' && traces.length > 0 ? { upTop: top(up, nUp), downTop: top(down, nDown) } : {};
    return { group: g.name, upSizes: [...up.keys()].sort((x, y) => x - y), downSizes: [...down.keys()].sort((x, y) => x - y), upCellsPerSec: nUp / k, downCellsPerSec: nDown / k, ...rtc };
  });
}

/** Counters over the run (end minus start; a remote relay's counters start before the run). */
function counterDelta(a: CoreCounters | undefined, b: CoreCounters): CoreCounters {
  if (a === undefined) return b;
  const out = { ...b };
  for (const k of Object.keys(b) as Array<keyof CoreCounters>) if (k !== 'sessions') out[k] = (b[k] ?? 0) - (a[k] ?? 0);
  return out;
}

function warningsOf(run: RunData): string[] {
  const out: string[] = [];
  // Each client sends one cell per tick; missed ticks mean the load process could not keep up.
  const cells = run.members.reduce((a, m) => a + (m.call === undefined ? 0 : m.call.stats.missedTicks), 0);
  const expectedTicks = run.members.reduce((a, m) => (m.call === undefined ? a : a + (run.durationMs / m.call.profile.tickMs)), 0);
  const rtc = run.members.filter((m) => m.rtc && m.call !== undefined && m.joinedAt <= run.t0 && m.leftAt >= run.t0 + run.durationMs);
  const nominal = (rtc.length * run.durationMs) / 20;
  const rtcSent = rtc.reduce((a, m) => a + m.sendTimes.length, 0);
  if (rtc.length > 0 && rtcSent < 0.95 * nominal) {
    out.push(`load generator saturated: the WebRTC participants sent ${rtcSent} of ${Math.round(nominal)} frames (${((100 * rtcSent) / nominal).toFixed(1)}%; one every 20 ms each); this process could not keep up (werift's SRTP and the taps run here), so latency, jitter and loss include its stalls. Use fewer WebRTC participants per load process, --workers, or a less loaded machine.`);
  }
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
  add('latency samples = unique deliveries', run.latency.total.count === unique, `${run.latency.total.count} vs ${unique}`);
  const intervalSum = run.timeline.reduce((a, p) => a + p.latencyMs.n, 0);
  add('interval latency samples add up to the run', intervalSum === run.latency.total.count, `${intervalSum} vs ${run.latency.total.count}`);
  for (const [gi, g] of run.scenario.groups.entries()) {
    const e = e2eOf(run.members.filter((m) => m.room.group === gi), run.t0 + run.durationMs);
    // What the scenario text promises: padding on wherever it asks for it (a room past the SDK's limit suspends it).
    if (e.requested > 0) add(`${g.name}: e2e padding on where the scenario asks for it`, e.active === e.requested && e.withheld === 0, `${e.active} of ${e.requested} members padded, ${e.withheld} dummies withheld (padded room limit ${e.limit})`);
  }
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
  const cells = run.members.filter((m) => !m.rtc);
  if (core !== undefined && run.target.kind !== 'remote' && cells.length > 0) {
    const records = cells.reduce((a, m) => a + (m.call === undefined ? 0 : m.call.stats.packetsSent + m.call.stats.dummiesSent), 0);
    const slack = 3 * cells.length + 0.01 * records;
    add('relay records accepted ≈ SDK records sent (fresh relay)', Math.abs(core.recordsIn - records) <= slack, `${core.recordsIn} vs ${records} (slack ${slack.toFixed(0)})`);
  }
  const rtc = run.members.filter((m) => m.rtc);
  if (rtc.length > 0 && core?.rtcForwarded !== undefined && run.target.kind !== 'remote') {
    // Every arrival went through the edge, and the edge forwards a frame at most once per receiver.
    // (A frame the kit sent that never reached the edge, e.g. queued in a stalled load process, is lost, not inconsistent.)
    const ideal = rtc.reduce((a, m) => a + (m.call?.stats.packetsSent ?? 0) * (m.room.members.filter((x) => x.call !== undefined).length - 1), 0);
    const arrived = d.delivered + d.extraDeliveries + d.duplicates;
    const slack = 2 * rtc.length; // arrivals counted in the instant between the relay's last sample and the kit's
    add('WebRTC arrivals ≤ edge RTP forwarded ≤ Σ frames sent × (room size − 1) (fresh relay)', arrived <= core.rtcForwarded + slack && core.rtcForwarded <= ideal, `${arrived} ≤ ${core.rtcForwarded} ≤ ${ideal}`);
  }
  return out;
}

/** e2e padding of these members as the SDK ran it, as at the end of the measured phase (the leaves after it shrink rosters and re-enable padding). */
function e2eOf(ms: Member[], endAt: number): E2ePaddingFigures {
  const out = { requested: 0, active: 0, withheld: 0, limit: 0 };
  for (const m of ms) {
    const e = m.e2eAtEnd;
    if (e === undefined) continue;
    out.withheld += e.withheld;
    out.limit = e.status.capacity;
    // Members still in the call at the end (a churned-out member's last status says nothing of the room).
    if (!e.status.requested || m.leftAt < endAt) continue;
    out.requested++;
    if (e.status.active) out.active++;
  }
  return out;
}

/** The timeline with loss by send time filled in (total and per series). */
function withLoss(run: RunData): TimelinePoint[] {
  const loss = lossByInterval(run.members, run.settleMs, run.graceMs, run.intervalBounds, run.series.labels.length);
  const set = (f: { expected: number; lost: number; lossPct: number }, [e, l]: [number, number]): void => {
    f.expected = e;
    f.lost = l;
    f.lossPct = e === 0 ? 0 : (100 * l) / e;
  };
  return run.timeline.map((p, k) => {
    const q = { ...p, series: p.series.map((x) => ({ ...x })) };
    set(q, loss.total[k] ?? [0, 0]);
    q.series.forEach((x, i) => set(x, loss.series[i]![k] ?? [0, 0]));
    return q;
  });
}
