/** Must show 7: the demo runs end to end (shortened) and its figures hold together. */
import { describe, expect, it } from 'vitest';
import { runDemo } from '../../loadtest/demo.js';

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
});
