/**
 * SVG charts of a run, hand-written (no dependencies): the latency CDF, packets per second over
 * time, and a talk/silence timeline of one participant beside what each observer saw.
 */
import { counterWindows, traceWindows } from '../leak/features.js';
import { leakSubjects, type Report } from './report.js';
import type { RunData } from './runner.js';
import type { Intervals } from './speech.js';

interface Series {
  name: string;
  color: string;
  points: Array<[number, number]>;
}

const W = 720;
const H = 320;
const PAD = { l: 60, r: 170, t: 36, b: 44 };
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd'];

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

export function lineChart(title: string, xLabel: string, yLabel: string, series: Series[], xMax?: number, yMax?: number): string {
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const x1 = xMax ?? niceMax(Math.max(0, ...xs));
  const y1 = yMax ?? niceMax(Math.max(0, ...ys));
  const iw = W - PAD.l - PAD.r;
  const ih = H - PAD.t - PAD.b;
  const sx = (x: number): number => PAD.l + (Math.min(x, x1) / x1) * iw;
  const sy = (y: number): number => PAD.t + ih - (Math.min(y, y1) / y1) * ih;
  const out: string[] = [svgOpen(W, H), `<text x="${PAD.l}" y="20" font-weight="bold">${esc(title)}</text>`];
  for (let i = 0; i <= 5; i++) {
    const gx = (x1 * i) / 5;
    const gy = (y1 * i) / 5;
    out.push(`<line x1="${sx(gx)}" y1="${PAD.t}" x2="${sx(gx)}" y2="${PAD.t + ih}" stroke="#eee"/><text x="${sx(gx)}" y="${PAD.t + ih + 16}" text-anchor="middle">${fmt(gx)}</text>`);
    out.push(`<line x1="${PAD.l}" y1="${sy(gy)}" x2="${PAD.l + iw}" y2="${sy(gy)}" stroke="#eee"/><text x="${PAD.l - 6}" y="${sy(gy) + 4}" text-anchor="end">${fmt(gy)}</text>`);
  }
  out.push(`<rect x="${PAD.l}" y="${PAD.t}" width="${iw}" height="${ih}" fill="none" stroke="#888"/>`);
  out.push(`<text x="${PAD.l + iw / 2}" y="${H - 8}" text-anchor="middle">${esc(xLabel)}</text>`);
  out.push(`<text transform="translate(14 ${PAD.t + ih / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`);
  series.forEach((s, i) => {
    if (s.points.length > 0) out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="1.6" points="${s.points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ')}"/>`);
    out.push(`<rect x="${W - PAD.r + 12}" y="${PAD.t + 6 + i * 18}" width="12" height="3" fill="${s.color}"/><text x="${W - PAD.r + 30}" y="${PAD.t + 10 + i * 18}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

function svgOpen(w: number, h: number): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif" font-size="11"><rect width="${w}" height="${h}" fill="white"/>`;
}

function fmt(v: number): string {
  return Math.abs(v) >= 100 || Number.isInteger(v) ? v.toFixed(0) : v.toFixed(v < 1 ? 2 : 1);
}

export function latencyCdf(latencies: Float64Array): string {
  const s = Float64Array.from(latencies).sort();
  const pts: Array<[number, number]> = [];
  const step = Math.max(1, Math.floor(s.length / 400));
  for (let i = 0; i < s.length; i += step) pts.push([s[i]!, (i + 1) / s.length]);
  if (s.length > 0) pts.push([s[s.length - 1]!, 1]);
  const p999 = s.length === 0 ? 1 : s[Math.min(s.length - 1, Math.floor(0.999 * s.length))]!;
  return lineChart(`One-way latency CDF (${s.length} deliveries)`, 'latency, ms', 'fraction of deliveries', [{ name: 'latency', color: COLORS[0]!, points: pts }], niceMax(p999), 1);
}

export function packetsOverTime(report: Report): string {
  const tl = report.timeline;
  const series: Series[] = [
    { name: 'media frames sent/s', color: COLORS[0]!, points: tl.map((p) => [p.t, p.framesSent]) },
    { name: 'frames delivered/s', color: COLORS[2]!, points: tl.map((p) => [p.t, p.framesDelivered]) },
  ];
  if (tl.some((p) => p.relayCellsIn !== undefined)) series.push({ name: 'relay cells in/s', color: COLORS[3]!, points: tl.filter((p) => p.relayCellsIn !== undefined).map((p) => [p.t, p.relayCellsIn!]) });
  if (tl.some((p) => p.relayCellsOut !== undefined)) series.push({ name: 'relay cells out/s', color: COLORS[1]!, points: tl.filter((p) => p.relayCellsOut !== undefined).map((p) => [p.t, p.relayCellsOut!]) });
  return lineChart('Packets per second', 'time, s', 'per second', series, report.scenario.durationMs / 1000);
}

/**
 * One participant over (at most) the first 30 s: the ground-truth talk spurts, then one strip per
 * observer with the quantity it sees per 100 ms window, each scaled to its own maximum.
 */
export function talkTimeline(run: RunData): string | undefined {
  const subject = leakSubjects(run).find((s) => s.padded !== undefined);
  if (subject === undefined) return undefined;
  const win = 100;
  const ms = Math.min(run.durationMs, 30_000);
  const n = Math.floor(ms / win);
  const strips: Array<{ name: string; values: number[] }> = [];
  const col = (x: number[][], j: number): number[] => x.map((r) => r[j]!);
  strips.push({ name: 'observer, hop padding on: uplink bytes', values: col(traceWindows(subject.padded!, run.t0, n, win), 1) });
  strips.push({ name: 'observer, hop padding on: downlink bytes', values: col(traceWindows(subject.padded!, run.t0, n, win), 3) });
  if (subject.unpadded !== undefined) strips.push({ name: 'observer, padding off: uplink bytes', values: col(traceWindows(subject.unpadded, run.t0, n, win), 1) });
  if (subject.relayRecords !== undefined) strips.push({ name: `relay: records from this sender (e2e padding ${subject.e2ePadding ? 'on' : 'off'})`, values: col(counterWindows(subject.relayRecords, run.t0, n, win), 0) });
  const rowH = 46;
  const left = 10;
  const iw = W - 20;
  const h = 40 + rowH * (strips.length + 1) + 20;
  const x = (t: number): number => left + (t / ms) * iw;
  const out: string[] = [svgOpen(W, h), `<text x="${left}" y="20" font-weight="bold">Talk/silence of one participant beside what each observer saw (first ${ms / 1000} s, 100 ms windows)</text>`];
  const talkRow = (y: number, talk: Intervals): void => {
    out.push(`<text x="${left}" y="${y - 4}">ground truth: talk spurts</text><rect x="${left}" y="${y}" width="${iw}" height="${rowH - 22}" fill="#f4f4f4"/>`);
    for (const [a, b] of talk) if (a < ms) out.push(`<rect x="${x(a).toFixed(1)}" y="${y}" width="${Math.max(0.5, x(Math.min(b, ms)) - x(a)).toFixed(1)}" height="${rowH - 22}" fill="#2ca02c"/>`);
  };
  talkRow(40, subject.talk);
  strips.forEach((s, i) => {
    const y = 40 + rowH * (i + 1);
    const max = Math.max(1e-9, ...s.values);
    const min = Math.min(...s.values);
    out.push(`<text x="${left}" y="${y - 4}">${esc(s.name)} (min ${fmt(min)}, max ${fmt(max)})</text><rect x="${left}" y="${y}" width="${iw}" height="${rowH - 22}" fill="#f4f4f4"/>`);
    const bh = rowH - 22;
    s.values.forEach((v, k) => {
      const hh = (v / max) * bh;
      if (hh > 0) out.push(`<rect x="${x(k * win).toFixed(1)}" y="${(y + bh - hh).toFixed(1)}" width="${Math.max(0.5, x(win) - x(0)).toFixed(1)}" height="${hh.toFixed(1)}" fill="${COLORS[i % COLORS.length]!}"/>`);
    });
  });
  out.push(`<text x="${left}" y="${h - 6}">time →  0 … ${ms / 1000} s</text></svg>`);
  return out.join('\n');
}

export function renderCharts(report: Report, latencies: Float64Array, run?: RunData): Record<string, string> {
  const out: Record<string, string> = {
    'latency-cdf.svg': latencyCdf(latencies),
    'packets-per-second.svg': packetsOverTime(report),
  };
  const tl = run !== undefined ? talkTimeline(run) : undefined;
  if (tl !== undefined) out['talk-timeline.svg'] = tl;
  return out;
}
