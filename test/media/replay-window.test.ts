import { describe, expect, it } from 'vitest';
import { ReplayWindow, WINDOW_REACH } from '../../src/media/core/replay-window.js';

function accept(w: ReplayWindow, c: number): boolean {
  if (!w.check(c)) return false;
  w.commit(c);
  return true;
}

describe('replay window', () => {
  it('accepts each counter once, in any order within reach', () => {
    const w = new ReplayWindow();
    expect(accept(w, 0)).toBe(true);
    expect(accept(w, 0)).toBe(false);
    expect(accept(w, 5)).toBe(true);
    expect(accept(w, 3)).toBe(true);
    expect(accept(w, 3)).toBe(false);
    expect(accept(w, 5)).toBe(false);
    expect(accept(w, 4)).toBe(true);
  });

  it('refuses counters beyond the reach and survives big jumps', () => {
    const w = new ReplayWindow();
    accept(w, 10);
    accept(w, 10 + WINDOW_REACH + 100);
    expect(accept(w, 10)).toBe(false);
    expect(accept(w, 11)).toBe(false);
    expect(accept(w, 200 + 10)).toBe(true);
    accept(w, 1_000_000);
    expect(accept(w, 1_000_000 - WINDOW_REACH + 1)).toBe(true);
    expect(accept(w, 1_000_000 - WINDOW_REACH)).toBe(false);
    expect(accept(w, 1_000_000 - 1)).toBe(true);
  });

  it('agrees with a set-based model on 20000 random counters', () => {
    const w = new ReplayWindow();
    const seen = new Set<number>();
    let top = -1;
    let x = 12345;
    for (let i = 0; i < 20000; i++) {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      const c = Math.max(0, top + (x % 200) - 150);
      const expected = !seen.has(c) && (c > top || top - c < WINDOW_REACH);
      expect(accept(w, c)).toBe(expected);
      if (expected) {
        seen.add(c);
        top = Math.max(top, c);
      }
    }
  });
});
