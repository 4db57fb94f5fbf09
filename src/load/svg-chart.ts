/**
 * Hand-written SVG line charts (no dependencies): linear or log axes, several series with their
 * own colour, dash and width, value marks, a legend beside the plot, and panels stacked into one
 * image. Labels are kept apart: legend entries are truncated to the legend's width, tick labels
 * are spaced by the axis, and mark labels alternate above and below their points.
 */

export interface Series {
  name: string;
  color: string;
  points: Array<[number, number]>;
  dash?: string;
  width?: number;
  opacity?: number;
  /** Draw a dot at each point (sparse data). */
  dots?: boolean;
}

export interface Mark {
  x: number;
  y: number;
  label: string;
  color?: string;
}

export interface Axis {
  label: string;
  /** Data range shown; defaults: 0 .. a nice maximum of the data. */
  min?: number;
  max?: number;
  /** log10 scale (values must be > 0). */
  log?: boolean;
  /** Tick positions and labels (default: 5 even steps, or 1-2-5 per decade on a log axis). */
  ticks?: Array<[number, string]>;
}

export interface ChartSpec {
  title: string;
  x: Axis;
  y: Axis;
  series: Series[];
  marks?: Mark[];
  /** Vertical reference lines (e.g. p50 and p99 on a CDF). */
  vlines?: Array<{ x: number; label: string; color: string }>;
  /** A note under the title (what to read, or why a series is missing). */
  note?: string;
}

export const W = 760;
export const PANEL_H = 300;
const PAD = { l: 62, r: 236, t: 44, b: 44 };
const LEGEND_CHARS = 36;
export const TOTAL_COLOR = '#222222';
export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

export const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function fmt(v: number): string {
  if (!Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  if (a >= 10_000) return `${(v / 1000).toFixed(a >= 100_000 ? 0 : 1)}k`;
  if (a >= 100 || Number.isInteger(v)) return v.toFixed(0);
  return v.toFixed(a < 1 ? 2 : 1);
}

export function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v * (1 - 1e-9)) return m * p;
  return 10 * p;
}

function logTicks(lo: number, hi: number): Array<[number, string]> {
  const out: Array<[number, string]> = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= lo * 0.999 && v <= hi * 1.001) out.push([v, fmt(v)]);
    }
  }
  return out;
}

interface Scale {
  lo: number;
  hi: number;
  map: (v: number) => number;
  ticks: Array<[number, string]>;
}

function scale(axis: Axis, values: number[], from: number, to: number): Scale {
  if (axis.log === true) {
    const pos = values.filter((v) => v > 0);
    const lo = axis.min ?? 10 ** Math.floor(Math.log10(Math.min(...pos, 1)));
    const hi = axis.max ?? 10 ** Math.ceil(Math.log10(Math.max(...pos, lo * 10)));
    const L = (v: number): number => Math.log10(Math.min(hi, Math.max(lo, v)));
    return { lo, hi, map: (v) => from + ((L(v) - L(lo)) / (L(hi) - L(lo))) * (to - from), ticks: axis.ticks ?? logTicks(lo, hi) };
  }
  const lo = axis.min ?? 0;
  const hi = axis.max ?? niceMax(Math.max(lo, ...values.filter(Number.isFinite)));
  const span = hi - lo || 1;
  const ticks = axis.ticks ?? Array.from({ length: 6 }, (_, i): [number, string] => [lo + (span * i) / 5, fmt(lo + (span * i) / 5)]);
  return { lo, hi, map: (v) => from + ((Math.min(hi, Math.max(lo, v)) - lo) / span) * (to - from), ticks };
}

function segments(points: Array<[number, number]>): Array<Array<[number, number]>> {
  const out: Array<Array<[number, number]>> = [[]];
  for (const p of points) {
    if (Number.isFinite(p[0]) && Number.isFinite(p[1])) out[out.length - 1]!.push(p);
    else if (out[out.length - 1]!.length > 0) out.push([]);
  }
  return out.filter((x) => x.length > 0);
}

/** Ticks at a round step (1, 2, 5, 10, 15, 30, 60, ...) with at most 10 of them from 0 to `max`. */
export function timeTicks(max: number): Array<[number, string]> {
  const step = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600].find((s) => max / s <= 10) ?? 3600;
  const out: Array<[number, string]> = [];
  for (let v = 0; v <= max + 1e-9; v += step) out.push([v, fmt(v)]);
  return out;
}

const clip = (s: string): string => (s.length > LEGEND_CHARS ? `${s.slice(0, LEGEND_CHARS - 1)}…` : s);

/** One chart as SVG elements in a box of W × PANEL_H at (0, top). */
export function panel(spec: ChartSpec, top = 0): string[] {
  const iw = W - PAD.l - PAD.r;
  const ih = PANEL_H - PAD.t - PAD.b;
  const pts = spec.series.flatMap((s) => s.points);
  const sx = scale(spec.x, pts.map((p) => p[0]), PAD.l, PAD.l + iw);
  const sy = scale(spec.y, [...pts.map((p) => p[1]), ...(spec.marks ?? []).map((m) => m.y)], top + PAD.t + ih, top + PAD.t);
  const out: string[] = [`<text x="${PAD.l}" y="${top + 18}" font-weight="bold" font-size="13">${esc(spec.title)}</text>`];
  if (spec.note !== undefined) out.push(`<text x="${PAD.l}" y="${top + 34}" fill="#555">${esc(spec.note)}</text>`);
  for (const [v, label] of sx.ticks) out.push(`<line x1="${sx.map(v).toFixed(1)}" y1="${top + PAD.t}" x2="${sx.map(v).toFixed(1)}" y2="${top + PAD.t + ih}" stroke="#eee"/><text x="${sx.map(v).toFixed(1)}" y="${top + PAD.t + ih + 15}" text-anchor="middle">${esc(label)}</text>`);
  for (const [v, label] of sy.ticks) out.push(`<line x1="${PAD.l}" y1="${sy.map(v).toFixed(1)}" x2="${PAD.l + iw}" y2="${sy.map(v).toFixed(1)}" stroke="#eee"/><text x="${PAD.l - 6}" y="${(sy.map(v) + 4).toFixed(1)}" text-anchor="end">${esc(label)}</text>`);
  out.push(`<rect x="${PAD.l}" y="${top + PAD.t}" width="${iw}" height="${ih}" fill="none" stroke="#888"/>`);
  out.push(`<text x="${PAD.l + iw / 2}" y="${top + PANEL_H - 10}" text-anchor="middle">${esc(spec.x.label)}</text>`);
  out.push(`<text transform="translate(16 ${top + PAD.t + ih / 2}) rotate(-90)" text-anchor="middle">${esc(spec.y.label)}</text>`);
  for (const v of spec.vlines ?? []) {
    const x = sx.map(v.x).toFixed(1);
    out.push(`<line x1="${x}" y1="${top + PAD.t}" x2="${x}" y2="${top + PAD.t + ih}" stroke="${v.color}" stroke-dasharray="2 3"/>`);
  }
  spec.series.forEach((s) => {
    const style = `stroke="${s.color}" stroke-width="${s.width ?? 1.6}"${s.dash !== undefined ? ` stroke-dasharray="${s.dash}"` : ''}${s.opacity !== undefined ? ` stroke-opacity="${s.opacity}"` : ''}`;
    // A missing value (NaN: nothing delivered in that interval) breaks the line instead of bridging it.
    for (const seg of segments(s.points)) {
      const xy = seg.map(([x, y]) => `${sx.map(x).toFixed(1)},${sy.map(y).toFixed(1)}`);
      if (xy.length > 1) out.push(`<polyline fill="none" ${style} stroke-linejoin="round" points="${xy.join(' ')}"/>`);
      if (s.dots === true || xy.length === 1) for (const p of xy) out.push(`<circle cx="${p.split(',')[0]}" cy="${p.split(',')[1]}" r="2.2" fill="${s.color}"/>`);
    }
  });
  (spec.marks ?? []).forEach((m, i) => {
    const x = sx.map(m.x);
    const y = sy.map(m.y);
    const dy = i % 2 === 0 ? -8 : 16;
    // Left of the point, unless that would run into the y axis labels.
    const left = x - 4 - 5.6 * m.label.length >= PAD.l;
    out.push(`<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="3.5" fill="${m.color ?? TOTAL_COLOR}"/><text x="${(left ? x - 4 : x + 6).toFixed(1)}" y="${(y + dy).toFixed(1)}" text-anchor="${left ? 'end' : 'start'}" font-size="10" fill="${m.color ?? TOTAL_COLOR}" stroke="white" stroke-width="3" paint-order="stroke">${esc(m.label)}</text>`);
  });
  const lx = W - PAD.r + 14;
  const legend = [...spec.series.map((s) => ({ name: s.name, color: s.color, dash: s.dash, width: s.width, opacity: s.opacity })), ...(spec.vlines ?? []).map((v) => ({ name: v.label, color: v.color, dash: '2 3', width: 1, opacity: undefined }))];
  legend.forEach((s, i) => {
    const y = top + PAD.t + 6 + i * 17;
    if (y > top + PANEL_H - 12) return;
    out.push(`<line x1="${lx}" y1="${y}" x2="${lx + 18}" y2="${y}" stroke="${s.color}" stroke-width="${Math.min(4, s.width ?? 1.6) + 0.4}"${s.dash !== undefined ? ` stroke-dasharray="${s.dash}"` : ''}${s.opacity !== undefined ? ` stroke-opacity="${s.opacity}"` : ''}/><text x="${lx + 24}" y="${y + 4}">${esc(clip(s.name))}</text>`);
  });
  return out;
}

export function svgOpen(w: number, h: number): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif" font-size="11"><rect width="${w}" height="${h}" fill="white"/>`;
}

/** One or more charts stacked vertically in one SVG. */
export function chart(...specs: ChartSpec[]): string {
  const out = [svgOpen(W, PANEL_H * specs.length)];
  specs.forEach((s, i) => out.push(...panel(s, i * PANEL_H)));
  out.push('</svg>');
  return out.join('\n');
}
