/**
 * The charts of a run, drawn from report.json alone (so `xrelay load --charts DIR` redraws them):
 * latency tail (HDR percentile plot), latency CDF, latency / loss / jitter over time (total and
 * per series), relay CPU and RSS over time, packets per second, join latency, and the talk/silence
 * timeline (which needs the run's raw traces, so only right after a run).
 */
import { LatencyHistogram, TAIL_PERCENTILES } from './histogram.js';
import type { Report } from './report.js';
import type { RunData } from './runner.js';
import { chart, fmt, PALETTE, timeTicks, TOTAL_COLOR, type ChartSpec, type Mark, type Series } from './svg-chart.js';
import { talkTimeline } from './talk-chart.js';

const seriesColor = (i: number): string => PALETTE[i % PALETTE.length]!;
const pLabel = (p: number): string => `p${p}`;
/** Position of percentile p on the tail axis: log10(1 / (1 - p)). */
const tailX = (p: number): number => Math.log10(1 / (1 - Math.min(p, 99.99999) / 100));

/** Series of the report's rooms/groups (none when there is just one: it would repeat the total). */
function perSeries(r: Report): Array<{ label: string; color: string; index: number }> {
  if (r.series.list.length < 2) return [];
  return r.series.list.map((s, i) => ({ label: s.label, color: seriesColor(i), index: i }));
}

/** HDR-style percentile plot: latency against log10(1/(1-p)), marks at p50 .. p99.99. */
export function latencyTail(r: Report): string {
  const total = LatencyHistogram.decode(r.media.latencyHdr);
  const n = total.count;
  const series: Series[] = perSeries(r).map((s) => ({ name: s.label, color: s.color, width: 1.2, points: LatencyHistogram.decode(r.series.list[s.index]!.latencyHdr).percentilePoints().map(([p, v]): [number, number] => [tailX(p), v]) }));
  series.push({ name: `all deliveries (${n})`, color: TOTAL_COLOR, width: 2.2, points: total.percentilePoints().map(([p, v]) => [tailX(p), v]) });
  // A percentile is only shown where at least one sample lies beyond it.
  const marks: Mark[] = TAIL_PERCENTILES.filter((p) => 1 / (1 - p / 100) <= n).map((p) => ({ x: tailX(p), y: total.at(p), label: `${pLabel(p)} ${fmt(total.at(p))} ms` }));
  const decades = Math.max(2, Math.ceil(Math.log10(Math.max(10, n))));
  const ticks: Array<[number, string]> = [[0, '0%'], [tailX(50), '50%']];
  for (let d = 1; d <= decades; d++) ticks.push([d, `${(100 * (1 - 10 ** -d)).toFixed(Math.max(0, d - 2))}%`]);
  const spec: ChartSpec = {
    title: 'One-way latency by percentile (tail view)',
    note: `x: percentile on a log scale of 1/(1−p); each step right is 10× rarer. max ${fmt(total.quantiles().max)} ms.`,
    x: { label: 'percentile', min: 0, max: decades, ticks },
    y: { label: 'latency, ms' },
    series,
    marks,
  };
  return chart(spec);
}

/** The latency CDF on a log latency axis, total and per series, with p50 and p99 marked. */
export function latencyCdf(r: Report): string {
  const total = LatencyHistogram.decode(r.media.latencyHdr);
  const q = total.quantiles();
  const cdf = (h: LatencyHistogram): Array<[number, number]> => {
    const pts: Array<[number, number]> = [];
    for (let p = 0; p <= 100; p += 1) pts.push([h.at(p), p / 100]);
    for (const [p, v] of h.percentilePoints()) if (p > 99) pts.push([v, p / 100]);
    return pts.filter((x) => Number.isFinite(x[0]));
  };
  const series: Series[] = perSeries(r).map((s) => ({ name: s.label, color: s.color, width: 1.2, points: cdf(LatencyHistogram.decode(r.series.list[s.index]!.latencyHdr)) }));
  series.push({ name: `all deliveries (${q.n})`, color: TOTAL_COLOR, width: 2.2, points: cdf(total) });
  const lo = Math.max(0.1, 10 ** Math.floor(Math.log10(Math.max(0.1, total.at(0)))));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(lo * 10, q.max)));
  return chart({
    title: `One-way latency CDF (${q.n} deliveries)`,
    note: `p50 ${fmt(q.p50)} ms, p90 ${fmt(q.p90)} ms, p99 ${fmt(q.p99)} ms, max ${fmt(q.max)} ms`,
    x: { label: 'latency, ms (log scale)', log: true, min: lo, max: hi },
    y: { label: 'fraction of deliveries', min: 0, max: 1 },
    series,
    vlines: [
      { x: q.p50, label: `p50 ${fmt(q.p50)} ms`, color: '#2ca02c' },
      { x: q.p99, label: `p99 ${fmt(q.p99)} ms`, color: '#d62728' },
    ],
  });
}

const timeAxis = (r: Report): ChartSpec['x'] => {
  const max = Math.max(1, r.scenario.durationMs / 1000);
  return { label: 'time since the measured phase began, s (each point: the 1 s interval ending there)', min: 0, max, ticks: timeTicks(max) };
};

/** Latency p50/p90/p99/max per interval, and p99 per series below it. */
export function latencyOverTime(r: Report): string {
  const tl = r.timeline;
  const p99max = Math.max(0, ...tl.map((p) => p.latencyMs.p99).filter(Number.isFinite), ...tl.flatMap((p) => p.series.map((s) => s.latencyMs.p99)).filter(Number.isFinite));
  const yMax = niceY(p99max * 1.15);
  const clipped = tl.some((p) => p.latencyMs.max > yMax);
  const specs: ChartSpec[] = [
    {
      title: 'One-way latency over time (per 1 s interval, by arrival)',
      ...(clipped ? { note: 'max is clipped at the top of the plot (see the tail view)' } : {}),
      x: timeAxis(r),
      y: { label: 'latency, ms', max: yMax },
      series: [
        { name: 'max', color: '#999999', dash: '2 3', width: 1, points: tl.map((p) => [p.t, p.latencyMs.max]) },
        { name: 'p99', color: '#d62728', width: 2, dots: true, points: tl.map((p) => [p.t, p.latencyMs.p99]) },
        { name: 'p90', color: '#ff7f0e', points: tl.map((p) => [p.t, p.latencyMs.p90]) },
        { name: 'p50', color: '#2ca02c', width: 2, dots: true, points: tl.map((p) => [p.t, p.latencyMs.p50]) },
      ],
    },
  ];
  const per = perSeries(r);
  if (per.length > 0) {
    specs.push({
      title: `Latency p99 over time per ${r.series.by}`,
      x: timeAxis(r),
      y: { label: 'p99 latency, ms', max: yMax },
      series: per.map((s) => ({ name: s.label, color: s.color, points: tl.map((p): [number, number] => [p.t, p.series[s.index]!.latencyMs.p99]) })),
    });
  }
  return chart(...specs);
}

function niceY(v: number): number {
  return v > 0 ? niceMaxLocal(v) : 1;
}
function niceMaxLocal(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** Loss per interval (by send time), total and per series. */
export function lossOverTime(r: Report): string {
  const tl = r.timeline;
  const per = perSeries(r);
  const all = [...tl.map((p) => p.lossPct), ...tl.flatMap((p) => p.series.map((s) => s.lossPct))];
  const series: Series[] = per.map((s) => ({ name: s.label, color: s.color, width: 1.2, points: tl.map((p): [number, number] => [p.t, p.series[s.index]!.lossPct]) }));
  series.push({ name: 'all', color: TOTAL_COLOR, width: 2.2, dots: true, points: tl.map((p) => [p.t, p.lossPct]) });
  return chart({
    title: 'Loss over time (frames expected by receivers, by send interval)',
    note: `${r.media.lost} of ${r.media.expectedDeliveries} expected deliveries lost (${r.media.lossPct.toFixed(3)}%)`,
    x: timeAxis(r),
    y: { label: 'lost, % of expected', min: 0, max: niceY(Math.max(1, 1.1 * Math.max(...all))) },
    series,
  });
}

/** RFC 3550 jitter per interval (mean over streams that delivered in it), total and per series. */
export function jitterOverTime(r: Report): string {
  const tl = r.timeline;
  const series: Series[] = perSeries(r).map((s) => ({ name: s.label, color: s.color, width: 1.2, points: tl.map((p): [number, number] => [p.t, p.series[s.index]!.jitterMs]) }));
  series.push({ name: 'all streams', color: TOTAL_COLOR, width: 2.2, dots: true, points: tl.map((p) => [p.t, p.jitterMs]) });
  const all = series.flatMap((s) => s.points.map((p) => p[1])).filter(Number.isFinite);
  return chart({
    title: 'Interarrival jitter over time (RFC 3550, mean over sender→receiver streams)',
    note: `run mean ${fmt(r.media.jitterMs)} ms`,
    x: timeAxis(r),
    y: { label: 'jitter, ms', min: 0, max: niceY(Math.max(...all, 0.1) * 1.1) },
    series,
  });
}

/** Relay CPU and RSS per interval (two panels). */
export function relayOverTime(r: Report): string {
  const tl = r.timeline;
  const cpu = tl.filter((p) => p.relayCpuPct !== undefined).map((p): [number, number] => [p.t, p.relayCpuPct!]);
  const rss = tl.filter((p) => p.relayRssMB !== undefined).map((p): [number, number] => [p.t, p.relayRssMB!]);
  const missing = 'not exposed by this relay';
  return chart(
    {
      title: 'Relay CPU over time',
      note: cpu.length === 0 ? missing : `${r.relay.note}; run mean ${fmt(r.relay.cpuPct ?? NaN)}%`,
      x: timeAxis(r),
      y: { label: '% of one core', min: 0, max: niceY(Math.max(1, ...cpu.map((p) => p[1])) * 1.15) },
      series: [{ name: 'relay CPU', color: '#1f77b4', width: 2, dots: true, points: cpu }],
    },
    {
      title: 'Relay resident memory (RSS) over time',
      note: rss.length === 0 ? missing : `max ${fmt(r.relay.rssMaxMB ?? NaN)} MB`,
      x: timeAxis(r),
      y: { label: 'MB', min: 0, max: niceY(Math.max(1, ...rss.map((p) => p[1])) * 1.15) },
      series: [{ name: 'relay RSS', color: '#9467bd', width: 2, dots: true, points: rss }],
    },
  );
}

/** Frames (kit) and cells (relay) per second, in two panels: they differ by orders of magnitude. */
export function packetsOverTime(r: Report): string {
  const tl = r.timeline;
  const specs: ChartSpec[] = [
    {
      title: 'Media frames per second (the load kit)',
      x: timeAxis(r),
      y: { label: 'per second', min: 0 },
      series: [
        { name: 'frames sent/s', color: '#1f77b4', width: 2, dots: true, points: tl.map((p) => [p.t, p.framesSentPerSec]) },
        { name: 'frames delivered/s', color: '#2ca02c', width: 2, dots: true, points: tl.map((p) => [p.t, p.framesDeliveredPerSec]) },
      ],
    },
  ];
  const cin = tl.filter((p) => p.relayCellsInPerSec !== undefined).map((p): [number, number] => [p.t, p.relayCellsInPerSec!]);
  const cout = tl.filter((p) => p.relayCellsOutPerSec !== undefined).map((p): [number, number] => [p.t, p.relayCellsOutPerSec!]);
  const rtp = tl.filter((p) => p.relayRtpOutPerSec !== undefined).map((p): [number, number] => [p.t, p.relayRtpOutPerSec!]);
  if (rtp.some((p) => p[1] > 0)) {
    specs.push({
      title: 'WebRTC edge: RTP packets forwarded per second',
      note: 'one per receiver (xrelay_rtc_forwarded_packets_total)',
      x: timeAxis(r),
      y: { label: 'packets per second', min: 0, max: niceY(Math.max(1, ...rtp.map((p) => p[1])) * 1.15) },
      series: [{ name: 'RTP forwarded/s', color: '#9467bd', width: 2, dots: true, points: rtp }],
    });
  }
  if (rtp.some((p) => p[1] > 0) && !cin.some((p) => p[1] > 0)) return chart(...specs);
  specs.push({
    title: 'Relay cells per second',
    note: cin.length === 0 ? 'not exposed by this relay' : 'cells in: the wide band; cells out: the line (they overlap where every session sends and gets one cell a tick)',
    x: timeAxis(r),
    y: { label: 'cells per second', min: 0, max: niceY(Math.max(1, ...cin.map((p) => p[1]), ...cout.map((p) => p[1])) * 1.15) },
    series: [
      { name: 'relay cells in/s', color: '#ff7f0e', width: 7, opacity: 0.45, points: cin },
      { name: 'relay cells out/s', color: '#d62728', width: 1.6, points: cout },
    ],
  });
  return chart(...specs);
}

/** Join latency CDF (every join, exact), p50 and p99 marked. */
export function joinLatency(r: Report): string {
  const xs = [...r.clients.joinLatenciesMs].sort((a, b) => a - b);
  const pts = xs.map((v, i): [number, number] => [v, (i + 1) / xs.length]);
  const q = r.clients.joinLatencyMs;
  return chart({
    title: `Join latency (${xs.length} joins${r.clients.midRunJoins > 0 ? `, ${r.clients.midRunJoins} during the run` : ''})`,
    note: `time for CallClient.join to resolve; ${r.clients.joinsPerSec.toFixed(1)} joins/s at 8 concurrent; ${r.clients.joinFailed} failed`,
    x: { label: 'join latency, ms' },
    y: { label: 'fraction of joins', min: 0, max: 1 },
    series: [{ name: 'joins', color: '#1f77b4', width: 2, dots: xs.length <= 60, points: pts }],
    vlines: [
      { x: q.p50, label: `p50 ${fmt(q.p50)} ms`, color: '#2ca02c' },
      { x: q.p99, label: `p99 ${fmt(q.p99)} ms`, color: '#d62728' },
    ],
  });
}

/** Every chart of a run; the talk timeline only with the run's raw data. */
export function renderCharts(report: Report, run?: RunData): Record<string, string> {
  const out: Record<string, string> = {
    'latency-tail.svg': latencyTail(report),
    'latency-cdf.svg': latencyCdf(report),
    'latency-over-time.svg': latencyOverTime(report),
    'loss-over-time.svg': lossOverTime(report),
    'jitter-over-time.svg': jitterOverTime(report),
    'relay-over-time.svg': relayOverTime(report),
    'packets-per-second.svg': packetsOverTime(report),
    'join-latency.svg': joinLatency(report),
  };
  const tl = run !== undefined ? talkTimeline(run) : undefined;
  if (tl !== undefined) out['talk-timeline.svg'] = tl;
  return out;
}
