/** The talk/silence chart of a leak or observed run: one participant beside what each observer saw. */
import { counterWindows, traceWindows } from './leak/features.js';
import { leakSubjects } from './report.js';
import type { RunData } from './runner.js';
import type { Intervals } from './speech.js';
import { esc, fmt, svgOpen, timeTicks, W } from './svg-chart.js';

/** Observer strips: no green, which is the ground truth's. */
const STRIP_COLORS = ['#1f77b4', '#d62728', '#9467bd', '#ff7f0e'];

/** Talk time of `talk` inside [0, ms). */
function talkWithin(talk: Intervals, ms: number): number {
  let s = 0;
  for (const [a, b] of talk) if (a < ms) s += Math.min(b, ms) - a;
  return s;
}

/**
 * One observed participant (the one who talks most) over (at most) the first 30 s: the ground-truth talk spurts, then one strip per
 * observer with the quantity it sees per 100 ms window, each scaled to its own maximum.
 */
export function talkTimeline(run: RunData): string | undefined {
  const ms = Math.min(run.durationMs, 30_000);
  // The observed participant who talks most in the window (in big rooms most are silent for long).
  const subject = leakSubjects(run)
    .filter((s) => s.padded !== undefined || s.rtcWire !== undefined)
    .sort((a, b) => talkWithin(b.talk, ms) - talkWithin(a.talk, ms))[0];
  if (subject === undefined) return undefined;
  const win = 100;
  const n = Math.floor(ms / win);
  const strips: Array<{ name: string; values: number[] }> = [];
  const col = (x: number[][], j: number): number[] => x.map((r) => r[j]!);
  const [wire, label] = subject.padded !== undefined ? [subject.padded, 'observer, hop padding on'] : [subject.rtcWire!, 'observer, WebRTC session'];
  strips.push({ name: `${label}: uplink bytes`, values: col(traceWindows(wire, run.t0, n, win), 1) });
  strips.push({ name: `${label}: downlink bytes`, values: col(traceWindows(wire, run.t0, n, win), 3) });
  if (subject.unpadded !== undefined) strips.push({ name: 'observer, padding off: uplink bytes', values: col(traceWindows(subject.unpadded, run.t0, n, win), 1) });
  if (subject.rtcRelay !== undefined) strips.push({ name: 'relay, WebRTC edge: RTP payload bytes forwarded from this sender', values: col(traceWindows(subject.rtcRelay, run.t0, n, win), 1) });
  if (subject.relayRecords !== undefined) strips.push({ name: `relay: records from this sender (e2e padding ${subject.e2ePadding ? 'on' : 'off'})`, values: col(counterWindows(subject.relayRecords, run.t0, n, win), 0) });
  const rowH = 46;
  const left = 10;
  const iw = W - 20;
  const h = 40 + rowH * (strips.length + 1) + 26;
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
      if (hh > 0) out.push(`<rect x="${x(k * win).toFixed(1)}" y="${(y + bh - hh).toFixed(1)}" width="${Math.max(0.5, x(win) - x(0)).toFixed(1)}" height="${hh.toFixed(1)}" fill="${STRIP_COLORS[i % STRIP_COLORS.length]!}"/>`);
    });
  });
  const axisY = 40 + rowH * (strips.length + 1) - 16;
  for (const [v, label] of timeTicks(ms / 1000)) out.push(`<line x1="${x(v * 1000).toFixed(1)}" y1="${axisY}" x2="${x(v * 1000).toFixed(1)}" y2="${axisY + 5}" stroke="#888"/><text x="${x(v * 1000).toFixed(1)}" y="${axisY + 16}" text-anchor="middle">${label}</text>`);
  out.push(`<line x1="${left}" y1="${axisY}" x2="${left + iw}" y2="${axisY}" stroke="#888"/><text x="${left + iw}" y="${h - 4}" text-anchor="end">time since the measured phase began, s</text></svg>`);
  return out.join('\n');
}

