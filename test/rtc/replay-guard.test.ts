// The uplink replay guard (RFC 3711 §3.3.1-3.3.2 index estimation over the shared RFC 6479 window).
import { describe, expect, it } from 'vitest';
import { ReplayGuard } from '../../src/rtc/core/replay-guard.js';
import { WINDOW_REACH } from '../../src/wire/replay-window.js';

describe('ReplayGuard', () => {
  it('accepts each sequence number once, in or out of order', () => {
    const g = new ReplayGuard();
    expect([10, 12, 11, 13].map((s) => g.accept(7, s))).toEqual([true, true, true, true]);
    expect([10, 11, 12, 13].map((s) => g.accept(7, s))).toEqual([false, false, false, false]);
    expect(g.accept(7, 9)).toBe(true); // a little older than the first is still new
  });

  it('follows the 16-bit wrap (rollover) and still refuses replays across it', () => {
    const g = new ReplayGuard();
    for (let i = 0; i < 200_000; i++) expect(g.accept(1, (65_000 + i) & 0xffff)).toBe(true);
    const last = (65_000 + 199_999) & 0xffff;
    expect(g.accept(1, last)).toBe(false);
    expect(g.accept(1, (last - 5) & 0xffff)).toBe(false);
    expect(g.accept(1, (last + 1) & 0xffff)).toBe(true);
    // reordering across the wrap: 65535 arriving after 0 and 1
    const h = new ReplayGuard();
    expect([65_530, 65_534, 0, 1, 65_535, 65_533].map((s) => h.accept(2, s))).toEqual([true, true, true, true, true, true]);
    expect([0, 65_535].map((s) => h.accept(2, s))).toEqual([false, false]);
  });

  it('refuses packets further behind than the window reaches; a new SSRC starts over', () => {
    const g = new ReplayGuard();
    g.accept(3, 0);
    g.accept(3, WINDOW_REACH + 100);
    expect(g.accept(3, 50)).toBe(false); // never seen, but too old to tell
    expect(g.accept(4, 0)).toBe(true); // another stream
    expect(g.accept(4, 0)).toBe(false);
    expect(g.accept(3, 0)).toBe(true); // back to SSRC 3: a new stream again (the edge keeps one per uplink)
  });
});
