/** Counter.follow: a Prometheus counter that tracks a cumulative total kept elsewhere (sans-IO). */
import { describe, expect, it } from 'vitest';
import { MetricsRegistry } from '../../src/observability/metrics.js';

describe('Counter.follow', () => {
  it('adds growth per label, ignores a total that went down, and counts on from there', () => {
    const c = new MetricsRegistry().counter('x_total', 'help', 'reason');
    c.follow(5, 'a');
    c.follow(3, 'b');
    c.follow(9, 'a');
    expect([c.get('a'), c.get('b')]).toEqual([9, 3]);
    c.follow(2, 'a'); // the source restarted: the counter never goes down
    expect(c.get('a')).toBe(9);
    c.follow(6, 'a'); // +4 since the restart
    expect(c.get('a')).toBe(13);
    c.inc(1, 'b'); // direct increments and followed totals add up
    c.follow(4, 'b');
    expect(c.get('b')).toBe(5);
  });
});
