// The TCP/TLS connection guard with injected time (sans-IO): idle deadlines, allocations keeping a
// connection, the per-address cap (IPv6 by /64) and the total cap, and eviction of the connection
// that has gone longest without an allocation rather than refusing a newcomer.
import { describe, expect, it } from 'vitest';
import { StreamGuard } from '../../src/turn/core/stream-guard.js';

const T0 = 1_000_000;

describe('TURN stream guard', () => {
  it('closes a connection idleMs after it opened, unless it holds an allocation; the clock restarts when the allocation ends', () => {
    const g = new StreamGuard({ maxConnections: 10, maxPerAddress: 10, idleMs: 5000 });
    expect(g.admit('a', '192.0.2.1', T0).admitted).toBe(true);
    expect(g.admit('b', '192.0.2.2', T0 + 1000).admitted).toBe(true);
    expect(g.nextDeadline()).toBe(T0 + 5000);
    expect(g.expire(T0 + 4999)).toEqual([]);
    g.allocated('b');
    expect(g.expire(T0 + 5000)).toEqual(['a']);
    expect(g.count).toBe(1);
    expect(g.nextDeadline()).toBe(Infinity);
    expect(g.expire(T0 + 1_000_000)).toEqual([]); // held for as long as its allocation lives
    g.released('b', T0 + 1_000_000);
    g.released('b', T0 + 1_000_500); // a second release does not move the deadline
    expect(g.nextDeadline()).toBe(T0 + 1_005_000);
    expect(g.expire(T0 + 1_005_000)).toEqual(['b']);
    expect(g.count).toBe(0);
    g.remove('b');
    g.allocated('zzz');
    expect(g.count).toBe(0);
  });

  it('expires in deadline order, only those due', () => {
    const g = new StreamGuard({ maxConnections: 100, maxPerAddress: 100, idleMs: 1000 });
    for (let i = 0; i < 10; i++) g.admit(`c${i}`, '198.51.100.1', T0 + i * 100);
    expect(g.expire(T0 + 1350)).toEqual(['c0', 'c1', 'c2', 'c3']);
    expect(g.nextDeadline()).toBe(T0 + 1400);
    expect(g.countFor('198.51.100.1')).toBe(6);
  });

  it('per-address cap: the newcomer evicts that address\'s oldest allocation-less connection; refused when all hold allocations', () => {
    const g = new StreamGuard({ maxConnections: 100, maxPerAddress: 3, idleMs: 60_000 });
    for (const k of ['a1', 'a2', 'a3']) expect(g.admit(k, '203.0.113.7', T0).admitted).toBe(true);
    g.admit('other', '203.0.113.8', T0);
    g.allocated('a1');
    expect(g.admit('a4', '203.0.113.7', T0 + 1)).toEqual({ admitted: true, evict: 'a2' });
    expect(g.countFor('203.0.113.7')).toBe(3);
    g.allocated('a3');
    g.allocated('a4');
    expect(g.admit('a5', '203.0.113.7', T0 + 2)).toEqual({ admitted: false });
    expect(g.countFor('203.0.113.7')).toBe(3);
    expect(g.admit('b1', '203.0.113.8', T0 + 2).admitted).toBe(true); // other addresses unaffected
    // IPv4-mapped counts as the IPv4.
    g.released('a4', T0 + 3);
    expect(g.admit('a6', '::ffff:203.0.113.7', T0 + 4)).toEqual({ admitted: true, evict: 'a4' });
  });

  it('IPv6 sources count by /64', () => {
    const g = new StreamGuard({ maxConnections: 100, maxPerAddress: 2, idleMs: 60_000 });
    g.admit('x1', '2001:db8:1:2::1', T0);
    g.admit('x2', '2001:db8:1:2:ffff::9', T0);
    expect(g.countFor('2001:db8:1:2::77')).toBe(2);
    expect(g.admit('x3', '2001:db8:1:2:a:b:c:d', T0 + 1)).toEqual({ admitted: true, evict: 'x1' });
    expect(g.admit('y1', '2001:db8:1:3::1', T0 + 1)).toEqual({ admitted: true });
    expect(g.countFor('2001:db8:1:3::1')).toBe(1);
  });

  it('total cap: the newcomer evicts the connection longest without an allocation, anywhere; refused when all hold one', () => {
    const g = new StreamGuard({ maxConnections: 4, maxPerAddress: 4, idleMs: 60_000 });
    g.admit('old', '192.0.2.1', T0);
    g.admit('held', '192.0.2.2', T0 + 1);
    g.admit('mid', '192.0.2.3', T0 + 2);
    g.admit('new', '192.0.2.4', T0 + 3);
    g.allocated('held');
    expect(g.admit('n1', '192.0.2.9', T0 + 4)).toEqual({ admitted: true, evict: 'old' });
    g.released('held', T0 + 5); // now the most recent without an allocation
    expect(g.admit('n2', '192.0.2.9', T0 + 6)).toEqual({ admitted: true, evict: 'mid' });
    expect(g.admit('n3', '192.0.2.9', T0 + 7)).toEqual({ admitted: true, evict: 'new' });
    expect(g.admit('n4', '192.0.2.9', T0 + 8)).toEqual({ admitted: true, evict: 'n1' });
    expect(g.count).toBe(4);
    for (const k of ['held', 'n2', 'n3', 'n4']) g.allocated(k);
    expect(g.admit('n5', '192.0.2.10', T0 + 9)).toEqual({ admitted: false });
    expect(g.count).toBe(4);
  });

  it('an attacker at its per-address cap cannot take an honest address\'s slots; 4 096 attempts leave the honest newcomer admitted', () => {
    const g = new StreamGuard({ maxConnections: 256, maxPerAddress: 16, idleMs: 10_000 });
    g.admit('honest-held', '198.51.100.50', T0);
    g.allocated('honest-held');
    let admitted = 0;
    for (let i = 0; i < 4096; i++) if (g.admit(`evil${i}`, `203.0.113.${1 + (i % 64)}`, T0 + i).admitted) admitted++;
    expect(admitted).toBe(4096); // each admitted, by evicting an older one of its own address or the oldest
    expect(g.count).toBe(256);
    for (let a = 1; a <= 64; a++) expect(g.countFor(`203.0.113.${a}`)).toBeLessThanOrEqual(16);
    expect(g.admit('honest', '198.51.100.51', T0 + 5000).admitted).toBe(true);
    expect(g.countFor('198.51.100.50')).toBe(1); // the allocation-holder survived it all
    expect(g.expire(T0 + 4096 + 10_000).length).toBe(254); // every attacker's connection is gone after idleMs
    expect(g.count).toBe(2);
  });
});
