/**
 * Issue 6, must show 1 (shortened): the load command runs a scenario end to end, writes the
 * report files, and the report's numbers hold together (expected = delivered + lost, kit frames
 * = SDK sends, relay records = SDK records, ...). The same run carries the leak meter on the real
 * wire, with generous bounds for its short length.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runLoadCommand } from '../../src/load/cli.js';
import type { Report } from '../../src/load/report.js';
import { validateScenario } from '../../src/load/scenario.js';
import { listScenarios, loadScenario } from '../../src/load/scenario.js';

const dir = mkdtempSync(join(tmpdir(), 'xrelay-load-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('load kit', () => {
  it('every scenario file validates', () => {
    const names = listScenarios().map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(['one-to-one-audio', 'group-audio-8', 'group-audio-50', 'video-rooms', 'churn', 'envelope-storm', 'mix', 'leak-audio']));
    for (const n of names) expect(loadScenario(n).groups.length).toBeGreaterThan(0);
    expect(() => validateScenario({ groups: [{ rooms: 0 }] }, 'bad')).toThrow(/groups\[0\]\.rooms/);
  });

  it('runs a short scenario, writes JSON + Markdown + SVG, and the numbers are consistent', async () => {
    const scenario = {
      name: 'ci-short',
      description: 'CI: 2 rooms of 3, P.59 speech, e2e padding off in one room and on in the other, leak meter on.',
      durationMs: 8000,
      seed: 3,
      leak: true,
      groups: [{ name: 'rooms of 3', rooms: 2, participants: 3, profile: 'audio-room', media: 'audio', e2ePadding: 'alternate' }],
    };
    const file = join(dir, 'ci-short.json');
    writeFileSync(file, JSON.stringify(scenario));
    const code = await runLoadCommand(['--scenario', file, '--out', join(dir, 'out'), '--in-process', '--quiet']);
    const [runDir] = readdirSync(join(dir, 'out'));
    const files = readdirSync(join(dir, 'out', runDir!));
    expect(files).toEqual(expect.arrayContaining(['report.json', 'report.md']));
    expect(files.filter((f) => f.endsWith('.svg')).length).toBeGreaterThanOrEqual(3);
    const r = JSON.parse(readFileSync(join(dir, 'out', runDir!, 'report.json'), 'utf8')) as Report;
    for (const c of r.consistency) expect(c.ok, `${c.name}: ${c.detail}`).toBe(true);
    expect(code).toBe(0);
    const m = r.media;
    expect(r.clients.joined).toBe(6);
    expect(m.framesSent).toBeGreaterThan(50);
    expect(m.expectedDeliveries).toBe(m.delivered + m.lost);
    expect(m.expectedDeliveries).toBe(2 * m.framesSent);
    expect(m.lossPct).toBeLessThan(5);
    expect(m.latencyMs.p50).toBeGreaterThan(0);
    expect(m.latencyMs.p99).toBeLessThan(500);
    expect(r.wire[0]!.upSizes).toHaveLength(1);
    expect(r.wire[0]!.downSizes).toHaveLength(1);
    expect(r.timeline.length).toBeGreaterThanOrEqual(6);
    const views = r.leak!.views;
    console.log(views.map((v) => `${v.view}: ${(100 * v.balancedAccuracy).toFixed(1)}%`).join('\n'));
    const view = (prefix: string) => views.find((v) => v.view.startsWith(prefix))!;
    expect(views).toHaveLength(5);
    expect(view('network observer, padding off').balancedAccuracy).toBeGreaterThanOrEqual(0.85);
    expect(view('network observer, hop padding on (').balancedAccuracy).toBeLessThanOrEqual(0.65);
    expect(view('relay, per-sender records, e2e padding off').balancedAccuracy).toBeGreaterThanOrEqual(0.85);
    expect(view('relay, per-sender records, e2e padding on').balancedAccuracy).toBeLessThanOrEqual(0.65);
    expect(r.leak!.bandwidth.upCost).toBeGreaterThan(1);
  }, 45_000);
});
