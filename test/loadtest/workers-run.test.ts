/**
 * `--workers 2` end to end (the built shards.js, real IPC): workers send histograms, not samples,
 * and the parent's merged report adds up (whole-run latency = Σ interval latency = unique
 * deliveries; per-interval expected = the run's).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runLoadCommand } from '../../src/load/cli.js';
import { LatencyHistogram } from '../../src/load/histogram.js';
import type { Report } from '../../src/load/report.js';

const dir = mkdtempSync(join(tmpdir(), 'xrelay-workers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('load kit over worker processes', () => {
  it('2 workers, 4 rooms of 2 for 3 s: merged histograms and per-interval figures add up', async () => {
    const file = join(dir, 'w.json');
    writeFileSync(file, JSON.stringify({ name: 'w', description: '4 1:1 calls over 2 workers', durationMs: 3000, seed: 5, groups: [{ name: '1:1', rooms: 4, participants: 2, profile: 'audio', media: 'audio', e2ePadding: true, observe: 0 }] }));
    const code = await runLoadCommand(['--scenario', file, '--out', join(dir, 'out'), '--in-process', '--quiet', '--workers', '2']);
    const [run] = readdirSync(join(dir, 'out'));
    const r = JSON.parse(readFileSync(join(dir, 'out', run!, 'report.json'), 'utf8')) as Report;
    for (const c of r.consistency) expect(c.ok, `${c.name}: ${c.detail}`).toBe(true);
    expect(code).toBe(0);
    expect(r.consistency.filter((c) => c.name.startsWith('shard 1: interval'))).toHaveLength(2);
    expect(r.clients.joined).toBe(8);
    expect(r.clients.joinLatenciesMs).toHaveLength(8);
    const unique = r.media.delivered + r.media.extraDeliveries;
    expect(r.media.latencyMs.n).toBe(unique);
    expect(LatencyHistogram.decode(r.media.latencyHdr).count).toBe(unique);
    expect(r.timeline.map((p) => p.t)).toEqual([1, 2, 3]);
    expect(r.timeline.reduce((a, p) => a + p.latencyMs.n, 0)).toBe(unique);
    expect(r.timeline.reduce((a, p) => a + p.expected, 0)).toBe(r.media.expectedDeliveries);
    expect(r.series.by).toBe('room');
    expect(r.series.list.reduce((a, s) => a + s.latencyMs.n, 0)).toBe(unique);
    expect(r.groups[0]!.e2ePadding).toEqual({ requested: 8, active: 8, withheld: 0, limit: 3 });
    expect(r.timeline.every((p) => p.relayCpuPct !== undefined)).toBe(true);
  }, 60_000);
});
