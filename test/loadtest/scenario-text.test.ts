/**
 * The default scenarios do what their text says. Statically: every room that asks for e2e padding
 * fits the SDK's padded room limit (docs/PROTOCOL.md §9.1, src/client/call/e2e-padding-gate.ts),
 * and the sizes and limits a description names are those of its groups. On the wire: a short run
 * of group-audio-8 reports padding on in every padded room and no dummy withheld, with per-interval
 * figures in report.json that add up to the run; a room past the limit fails the same check.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runLoadCommand } from '../../src/load/cli.js';
import { LatencyHistogram } from '../../src/load/histogram.js';
import { paddedLimitOf, peakRoomSize } from '../../src/load/padding-fit.js';
import type { Report } from '../../src/load/report.js';
import { listScenarios, loadScenario } from '../../src/load/scenario.js';

const dir = mkdtempSync(join(tmpdir(), 'xrelay-scenario-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function runFile(name: string, scenario: object, extra: string[] = []): Promise<{ code: number; report: Report; runDir: string }> {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(scenario));
  const out = join(dir, name);
  const code = await runLoadCommand(['--scenario', file, '--out', out, '--in-process', '--quiet', ...extra]);
  const [run] = readdirSync(out);
  return { code, report: JSON.parse(readFileSync(join(out, run!, 'report.json'), 'utf8')) as Report, runDir: join(out, run!) };
}

describe('scenario text matches what runs', () => {
  it('every room that asks for e2e padding fits the padded room limit of its profile and packet size', () => {
    for (const { name } of listScenarios()) {
      const sc = loadScenario(name);
      for (const g of sc.groups) {
        if (g.e2ePadding === false) continue;
        expect(peakRoomSize(g), `${name} / ${g.name}: ${g.participants} members${g.churn !== undefined ? ' (+1 while churning)' : ''} vs limit ${paddedLimitOf(g, sc)}`).toBeLessThanOrEqual(paddedLimitOf(g, sc));
      }
    }
    // The check can fail: a room of 8 with the default packet size is past the limit of 7.
    const g8 = loadScenario('group-audio-8').groups[0]!;
    expect(paddedLimitOf({ ...g8, packetBytes: undefined } as typeof g8, {})).toBe(7);
    expect(paddedLimitOf(g8, {})).toBe(8);
  });

  it('room sizes and padding limits named in descriptions are those of the groups', () => {
    for (const { name, description } of listScenarios()) {
      const sc = loadScenario(name);
      for (const m of description.matchAll(/(\d+) (?:audio )?(?:rooms|calls) of (\d+)/g)) {
        expect(sc.groups.some((g) => g.rooms === Number(m[1]) && g.participants === Number(m[2])), `${name}: "${m[0]}"`).toBe(true);
      }
      for (const m of description.matchAll(/(?:rooms above|limit is) (\d+)/g)) {
        expect(sc.groups.some((g) => paddedLimitOf({ ...g, packetBytes: undefined } as typeof g, sc) === Number(m[1])), `${name}: "${m[0]}"`).toBe(true);
      }
      const on = /e2e padding on/.test(description);
      const off = /e2e padding off/.test(description);
      const modes = new Set(sc.groups.map((g) => g.e2ePadding));
      if (on) expect(modes.has(true) || modes.has('alternate'), `${name} says padding on`).toBe(true);
      if (off) expect(modes.has(false) || modes.has('alternate'), `${name} says padding off`).toBe(true);
    }
    expect(listScenarios().find((s) => s.name === 'group-audio-50')!.description).toContain('above 7');
  });

  it('group-audio-8 (4 s): padding on in room 2 with nothing withheld, and per-interval figures that add up', async () => {
    const sc = loadScenario('group-audio-8');
    const { code, report: r, runDir } = await runFile('ga8', { ...sc, durationMs: 4000 });
    for (const c of r.consistency) expect(c.ok, `${c.name}: ${c.detail}`).toBe(true);
    expect(code).toBe(0);
    const g = r.groups[0]!;
    expect(g.e2ePadding).toEqual({ requested: 8, active: 8, withheld: 0, limit: 8 });
    expect(r.media.sdk.dummiesWithheld).toBe(0);
    expect(r.media.sdk.dummiesSent).toBeGreaterThan(0);
    // per-interval figures: one point per second, per room series, histograms that add up
    expect(r.kind).toBe('xrelay-load-report/v2');
    expect(r.timeline.map((p) => p.t)).toEqual([1, 2, 3, 4]);
    expect(r.series.by).toBe('room');
    expect(r.series.list.map((s) => s.label)).toEqual(['room 1: room of 8, e2e padding off', 'room 2: room of 8, e2e padding on']);
    let n = 0;
    for (const p of r.timeline) {
      expect(p.dt).toBeGreaterThan(0.5);
      expect(p.dt).toBeLessThan(3); // generous: a loaded machine wakes the sampler late
      expect(p.expected).toBe(p.series[0]!.expected + p.series[1]!.expected);
      expect(p.lost).toBe(p.series[0]!.lost + p.series[1]!.lost);
      expect(LatencyHistogram.decode(p.latencyHdr).count).toBe(p.latencyMs.n);
      expect(p.latencyMs.n).toBe(p.series[0]!.latencyMs.n + p.series[1]!.latencyMs.n);
      if (p.latencyMs.n > 0) expect(p.latencyMs.p50).toBeLessThanOrEqual(p.latencyMs.p99);
      expect(p.relayCpuPct).toBeGreaterThanOrEqual(0);
      expect(p.relayRssMB).toBeGreaterThan(0);
      n += p.latencyMs.n;
    }
    expect(n).toBe(r.media.latencyMs.n);
    expect(r.timeline.reduce((a, p) => a + p.expected, 0)).toBe(r.media.expectedDeliveries);
    expect(LatencyHistogram.decode(r.media.latencyHdr).quantiles()).toEqual(r.media.latencyMs);
    expect(r.clients.joinLatenciesMs).toHaveLength(16);
    // The charts are rebuilt from report.json alone, byte for byte (all but the talk timeline, which needs the raw traces).
    const svgs = readdirSync(runDir).filter((f) => f.endsWith('.svg') && f !== 'talk-timeline.svg');
    expect(svgs.sort()).toEqual(['jitter-over-time.svg', 'join-latency.svg', 'latency-cdf.svg', 'latency-over-time.svg', 'latency-tail.svg', 'loss-over-time.svg', 'packets-per-second.svg', 'relay-over-time.svg']);
    const before = svgs.map((f) => readFileSync(join(runDir, f), 'utf8'));
    for (const f of svgs) rmSync(join(runDir, f));
    expect(await runLoadCommand(['--charts', runDir])).toBe(0);
    expect(svgs.map((f) => readFileSync(join(runDir, f), 'utf8'))).toEqual(before);
    console.log(r.timeline.map((p) => `t=${p.t} n=${p.latencyMs.n} p50=${p.latencyMs.p50} p99=${p.latencyMs.p99} loss=${p.lossPct.toFixed(2)}% jitter=${p.jitterMs.toFixed(1)}`).join('\n'));
  }, 60_000);

  it('a padded room past the limit fails the report check (withheld dummies), exit code 1', async () => {
    const { code, report: r } = await runFile('over', {
      name: 'over',
      description: 'a room of 4 on audio (K = 3) asking for e2e padding',
      durationMs: 2000,
      seed: 1,
      groups: [{ name: 'room of 4', rooms: 1, participants: 4, profile: 'audio', media: 'audio', e2ePadding: true, observe: 0 }],
    });
    const check = r.consistency.find((c) => c.name.includes('e2e padding on where the scenario asks'))!;
    expect(check.ok).toBe(false);
    expect(r.groups[0]!.e2ePadding).toMatchObject({ requested: 4, active: 0, limit: 3 });
    expect(r.groups[0]!.e2ePadding.withheld).toBeGreaterThan(0);
    expect(code).toBe(1);
  }, 60_000);
});
