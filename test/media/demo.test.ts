/** Must show 7 and issue 9's must-show 8: the demo runs end to end (shortened), its figures hold together, and `npm run demo`'s entry runs as a process. */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runDemo } from '../../loadtest/demo.js';

const ROOT = resolve(__dirname, '../..');

describe('npm run demo', () => {
  it('places a 1:1 call and a group call, delivers every frame, and the wire shows one size per direction', async () => {
    const lines: string[] = [];
    const results = await runDemo(2, (l) => lines.push(l));
    console.log(lines.join('\n'));
    expect(results).toHaveLength(2);
    for (const r of results) {
      expect(r.sent).toBeGreaterThan(0);
      expect(r.delivered).toBe(r.expected);
      expect(r.upSizes).toHaveLength(1);
      expect(r.downSizes).toHaveLength(1);
      expect(r.p99).toBeLessThan(500);
    }
    const group = results[1]!;
    expect(Math.max(...group.relayRecords) - Math.min(...group.relayRecords)).toBeLessThan(0.1 * Math.max(...group.relayRecords));
  }, 30_000);

  it('the script in package.json runs the built entry, which prints what the README promises and exits 0', async () => {
    const script = (JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.demo;
    const m = /node (dist\/loadtest\/demo\.js)$/.exec(script ?? '');
    expect(m, `package.json scripts.demo = ${script}`).not.toBeNull();
    const entry = resolve(ROOT, m![1]!);
    if (!existsSync(entry)) throw new Error(`${entry} is missing: run "npm run build" first (npm test does)`);
    const child = spawn(process.execPath, [entry, '--seconds', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (out += String(d)));
    const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    clearTimeout(timer);
    console.log(out);
    expect(code).toBe(0);
    // README: "prints frames delivered, latency p50/p99 and what an observer of the wire sees (one size per direction, the same cell rate in talk and silence)"
    expect(out).toMatch(/1:1 call: 2 participants/);
    expect(out).toMatch(/group room: 6 participants/);
    expect(out).toMatch(/frames sent \d+, delivered \d+\/\d+ \([\d.]+%\)/);
    expect(out).toMatch(/one-way latency p50 [\d.]+ ms, p99 [\d.]+ ms/);
    expect(out).toMatch(/uplink {2}: \d+ cells, sizes \d+ B, [\d.]+ cells\/s while talking vs [\d.]+ cells\/s in silence/);
    expect(out).toMatch(/on the wire: one size per direction/);
  }, 30_000);
});
