/**
 * The TypeScript plane's flood guard, sans-IO with injected time: per-source then per-session
 * token buckets in front of the AEAD open, and where MediaCore asks it (after the cheap checks,
 * before the open).
 */
import { describe, expect, it } from 'vitest';
import { DROP_FORGED, DROP_THROTTLED, DROP_UNKNOWN_SESSION, MediaCore } from '../../src/media/core/media-core.js';
import { OpenGuard, type OpenGate } from '../../src/media/core/open-guard.js';
import { coreOptions, FakeClient, room } from './core-helpers.js';

const opts = { perSourcePerSec: 50, perSessionPerSec: 200, maxSources: 1000 };

describe('OpenGuard', () => {
  it('one flooding source gets its burst, then its rate; the rest is throttled and counted', () => {
    const g = new OpenGuard(opts);
    let admitted = 0;
    for (let i = 0; i < 10_000; i++) if (g.admit(3, '192.0.2.7', 0)) admitted++;
    expect(admitted).toBe(50);
    expect(g.stats.throttledSource).toBe(10_000 - 50);
    // one second later: 50 more, not a token beyond
    admitted = 0;
    for (let i = 0; i < 10_000; i++) if (g.admit(3, '192.0.2.7', 1000)) admitted++;
    expect(admitted).toBe(50);
    // 100 ms later: 5
    admitted = 0;
    for (let i = 0; i < 100; i++) if (g.admit(3, '192.0.2.7', 1100)) admitted++;
    expect(admitted).toBe(5);
  });

  it('a source flooding a session does not spend the session\'s tokens: a roam from another address gets through at once', () => {
    const g = new OpenGuard(opts);
    for (let i = 0; i < 10_000; i++) g.admit(3, '192.0.2.7', i / 10); // 10k cells over 1 s
    expect(g.admit(3, '198.51.100.9', 1000)).toBe(true);
    expect(g.stats.throttledSession).toBe(0);
  });

  it('many sources at one session are held to the session rate', () => {
    const g = new OpenGuard(opts);
    let admitted = 0;
    for (let i = 0; i < 5000; i++) if (g.admit(9, `10.0.${i >> 8}.${i & 255}`, 0)) admitted++;
    expect(admitted).toBe(200);
    expect(g.stats.throttledSession).toBe(4800);
    // other sessions keep their own bucket
    expect(g.admit(10, '203.0.113.1', 0)).toBe(true);
    // 500 ms later: 100 more for session 9
    admitted = 0;
    for (let i = 0; i < 5000; i++) if (g.admit(9, `10.1.${i >> 8}.${i & 255}`, 500)) admitted++;
    expect(admitted).toBe(100);
  });

  it('a clock stepped back refills nothing; forget() gives a reused index a full bucket', () => {
    const g = new OpenGuard({ ...opts, perSourcePerSec: 1e6 });
    for (let i = 0; i < 200; i++) expect(g.admit(1, `a${i}`, 10_000)).toBe(true);
    expect(g.admit(1, 'b', 5_000)).toBe(false);
    g.forget(1);
    expect(g.admit(1, 'c', 5_000)).toBe(true);
  });

  it('a path without an address (WebSocket) spends session tokens only', () => {
    const g = new OpenGuard(opts);
    let admitted = 0;
    for (let i = 0; i < 1000; i++) if (g.admit(2, undefined, 0)) admitted++;
    expect(admitted).toBe(200);
    expect(g.stats.throttledSource).toBe(0);
  });
});

describe('MediaCore asks the gate after its cheap checks and before the open', () => {
  it('garbage and unknown sessions never reach the gate; a refused cell is not opened and does not move the window', () => {
    const core = new MediaCore(coreOptions());
    const a = new FakeClient(core, room(1), 'audio', 0);
    let asked = 0;
    let allow = false;
    const gate: OpenGate = { admit: () => (asked++, allow) };
    expect(core.receive(Buffer.alloc(5), 0, gate)).toBe(-1); // garbage
    const stranger = a.cell();
    stranger.writeUInt32BE((a.join.session ^ 0x10000) >>> 0, 0);
    expect(core.receive(stranger, 0, gate)).toBe(-DROP_UNKNOWN_SESSION);
    expect(asked).toBe(0);

    const valid = a.cell();
    expect(core.receive(valid, 1, gate)).toBe(-DROP_THROTTLED);
    expect(asked).toBe(1);
    expect(core.stats.drops[DROP_THROTTLED]).toBe(1);
    expect(core.stats.drops[DROP_FORGED]).toBe(0);
    allow = true;
    // the same cell, now admitted: authenticated and accepted (the refusal left no trace in the window)
    expect(core.receive(valid, 2, gate)).toBe(a.join.index);
    const forged = a.cell();
    forged[forged.length - 1]! ^= 1;
    expect(core.receive(forged, 3, gate)).toBe(-DROP_FORGED);
    expect(core.stats.cellsIn).toBe(1);
  });
});
