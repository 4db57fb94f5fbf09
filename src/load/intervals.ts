/**
 * Per-interval figures of a run (report.json's timeline): one latency histogram per interval and
 * per series (a room, or a group of rooms when there are many), loss by send time, jitter of the
 * streams that delivered in the interval. Everything a chart needs is kept, so charts can be
 * redrawn from report.json alone (`xrelay load --charts DIR`), and worker processes' timelines
 * merge exactly (histograms add; expected and lost add; jitter is weighted by streams).
 */
import { LatencyHistogram } from './histogram.js';
import type { Member, Room } from './members.js';
import type { RoomGroup } from './scenario.js';

/** Rooms are drawn one by one up to this many; past it, one series per group. */
export const MAX_ROOM_SERIES = 8;

export interface SeriesDef {
  by: 'room' | 'group';
  labels: string[];
}

/** Series of a run: per room when there are few rooms, per group otherwise; sets each room's `series`. */
export function defineSeries(groups: RoomGroup[], totalRooms: number): { def: SeriesDef; ofRoom: (roomIndex: number, group: number, padded: boolean) => number } {
  if (totalRooms <= MAX_ROOM_SERIES) {
    const labels: string[] = [];
    let i = 0;
    for (const g of groups) for (let r = 0; r < g.rooms; r++) labels.push(`room ${++i}: ${g.name}${g.e2ePadding === 'alternate' ? (r % 2 === 1 ? ', e2e padding on' : ', e2e padding off') : ''}`);
    return { def: { by: 'room', labels }, ofRoom: (roomIndex) => roomIndex };
  }
  return { def: { by: 'group', labels: groups.map((g) => g.name) }, ofRoom: (_r, group) => group };
}

export interface IntervalLatency {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Figures of one interval, for the whole run or one series. */
export interface IntervalFigures {
  /** One-way latency of the frames delivered in the interval (by arrival), ms. */
  latencyMs: IntervalLatency;
  /** The interval's latency histogram, HDR compressed base64 (us). */
  latencyHdr: string;
  /** Frames sent in the interval (by send time) that receivers were expected to get, and those they did not. */
  expected: number;
  lost: number;
  lossPct: number;
  /** Mean RFC 3550 jitter of the streams that delivered in the interval, and how many they were. */
  jitterMs: number;
  jitterStreams: number;
}

/** Percentiles only: the histogram's mean walks every bucket (~3 ms), too slow for the per-second path. */
export function intervalLatency(h: LatencyHistogram): IntervalLatency {
  return { n: h.count, p50: h.at(50), p90: h.at(90), p99: h.at(99), max: h.at(100) };
}

/**
 * Latency recorder of a run. A delivery is recorded once per histogram it counts in: the current
 * interval's total and its series'. At each cut those are added into the whole-run histograms
 * (exact) and handed out; the next interval records into a second, reset set (double buffering:
 * use what cut() returns before the next cut). Nothing is allocated per interval.
 */
export class LatencyRecorder {
  readonly total = new LatencyHistogram();
  readonly series: LatencyHistogram[];
  private cur: { total: LatencyHistogram; series: LatencyHistogram[] };
  private spare: { total: LatencyHistogram; series: LatencyHistogram[] };

  constructor(seriesCount: number) {
    const set = (): { total: LatencyHistogram; series: LatencyHistogram[] } => ({ total: new LatencyHistogram(), series: Array.from({ length: seriesCount }, () => new LatencyHistogram()) });
    this.series = Array.from({ length: seriesCount }, () => new LatencyHistogram());
    this.cur = set();
    this.spare = set();
  }

  record(series: number, ms: number): void {
    this.cur.total.record(ms);
    this.cur.series[series]?.record(ms);
  }

  /** Deliveries recorded so far, the current interval's included. */
  get count(): number {
    return this.total.count + this.cur.total.count;
  }

  /** The current interval's histograms (total, per series), now also in the whole-run ones. */
  cut(): { total: LatencyHistogram; series: LatencyHistogram[] } {
    const out = this.cur;
    this.total.add(out.total);
    out.series.forEach((h, i) => this.series[i]!.add(h));
    this.spare.total.reset();
    for (const h of this.spare.series) h.reset();
    this.cur = this.spare;
    this.spare = out;
    return out;
  }
}

/** Jitter of the streams that got frames since the last call, total and per series (mean, count). */
export function sampleJitter(members: Member[], seriesCount: number): { total: [number, number]; series: Array<[number, number]> } {
  const sum = new Float64Array(seriesCount);
  const cnt = new Float64Array(seriesCount);
  for (const r of members) {
    const s = r.room.series;
    for (const track of r.tracks.values()) {
      if (track.unique === track.sampledUnique) continue;
      track.sampledUnique = track.unique;
      sum[s]! += track.jitter;
      cnt[s]!++;
    }
  }
  let ts = 0;
  let tc = 0;
  const series = Array.from(sum, (v, i): [number, number] => {
    ts += v;
    tc += cnt[i]!;
    return [cnt[i]! === 0 ? NaN : v / cnt[i]!, cnt[i]!];
  });
  return { total: [tc === 0 ? NaN : ts / tc, tc], series };
}

/**
 * Expected and lost per interval by send time (the report's accounting, split in time): interval k
 * holds the frames sent in [bounds[k], bounds[k+1]). Returns [expected, lost] per interval, total
 * and per series (the receiver's room's series).
 */
export function lossByInterval(members: Member[], settle: number, grace: number, bounds: number[], seriesCount: number): { total: Array<[number, number]>; series: Array<Array<[number, number]>> } {
  const k = bounds.length - 1;
  const total = Array.from({ length: k }, (): [number, number] => [0, 0]);
  const series = Array.from({ length: seriesCount }, () => Array.from({ length: k }, (): [number, number] => [0, 0]));
  for (const r of members) {
    if (r.call === undefined) continue;
    const lo = r.joinedAt + settle;
    const hi = r.leftAt - grace;
    const mine = series[r.room.series]!;
    for (const s of r.room.members) {
      if (s === r) continue;
      const track = r.tracks.get(s.id);
      let b = 0;
      for (let seq = 0; seq < s.sendTimes.length; seq++) {
        const t = s.sendTimes.get(seq);
        if (t < lo || t > hi) continue;
        while (b < k - 1 && t >= bounds[b + 1]!) b++;
        if (t < bounds[0]! || t >= bounds[k]!) continue;
        const lost = track?.got.has(seq) === true ? 0 : 1;
        total[b]![0]++;
        total[b]![1] += lost;
        mine[b]![0]++;
        mine[b]![1] += lost;
      }
    }
  }
  return { total, series };
}

export function figures(h: LatencyHistogram, expected: number, lost: number, jitter: [number, number]): IntervalFigures {
  return { latencyMs: intervalLatency(h), latencyHdr: h.encode(), expected, lost, lossPct: expected === 0 ? 0 : (100 * lost) / expected, jitterMs: jitter[0], jitterStreams: jitter[1] };
}

/** Adds `h` into the latency of `f` (deliveries that arrived in the drain count in the last interval). */
export function addLatency(f: IntervalFigures, h: LatencyHistogram): void {
  if (h.count === 0) return;
  const sum = LatencyHistogram.decode(f.latencyHdr).add(h);
  f.latencyHdr = sum.encode();
  f.latencyMs = intervalLatency(sum);
}

export type { Room };
