/** The sans-IO room placement core (cluster mode): node choice, lease timing, join answers, renew work. Times are plain numbers. */
import { describe, expect, it } from 'vitest';
import { chooseNode, RoomPlacement, type NodeRecord } from '../../src/media/core/room-placement.js';
import { parseNodeRecord } from '../../src/media/codec/node-record.js';

const node = (id: string, sessions: number, rooms = 0, draining = false): NodeRecord => ({ id, url: `http://${id}.test`, udp: { host: '127.0.0.1', port: 1 }, sessions, rooms, draining });
const OPTS = { leaseTtlMs: 6000, leaseRenewMs: 2000 };
const self = { id: 'b', url: 'http://b.test', udp: { host: '127.0.0.1', port: 2 } };

describe('chooseNode', () => {
  it('takes the fewest sessions, then the fewest rooms, then the receiving node, then the smaller id; never a draining node', () => {
    expect(chooseNode([node('a', 5), node('b', 3), node('c', 4)], 'a')?.id).toBe('b');
    expect(chooseNode([node('a', 3, 2), node('b', 3, 1)], 'a')?.id).toBe('b');
    expect(chooseNode([node('a', 3, 1), node('c', 3, 1)], 'c')?.id).toBe('c');
    expect(chooseNode([node('c', 3, 1), node('a', 3, 1)], 'x')?.id).toBe('a');
    expect(chooseNode([node('a', 0, 0, true), node('b', 90)], 'a')?.id).toBe('b');
    expect(chooseNode([node('a', 0, 0, true)], 'a')).toBeUndefined();
    expect(chooseNode([], 'a')).toBeUndefined();
  });
});

describe('RoomPlacement', () => {
  it('offers the least loaded live node, with every node it believes alive; the view ages out after leaseTtlMs', () => {
    const p = new RoomPlacement(self, OPTS);
    p.viewed([node('a', 1), node('b', 9), node('c', 4)], 1000);
    expect(p.plan('r1', 9, 1000)).toEqual({ kind: 'place', candidate: 'a', live: ['b', 'a', 'c'] });
    // this node's own load is its live count, not what Redis last held
    expect(p.plan('r1', 0, 2000)).toEqual({ kind: 'place', candidate: 'b', live: ['b', 'a', 'c'] });
    // a view as old as the TTL: the others may be dead; only this node is offered
    expect(p.plan('r1', 9, 6999)).toMatchObject({ candidate: 'a' });
    expect(p.plan('r1', 9, 7000)).toEqual({ kind: 'place', candidate: 'b', live: ['b'] });
  });

  it('serves a room it holds with members without Redis, until the lease ends at sentAt + leaseTtlMs exactly', () => {
    const p = new RoomPlacement(self, OPTS);
    p.viewed([node('a', 0)], 0);
    expect(p.placed('r1', 'b', 1000)).toEqual({ kind: 'serve' });
    p.joined('r1');
    expect(p.plan('r1', 1, 6999)).toEqual({ kind: 'serve' });
    expect(p.holds('r1', 6999)).toBe(true);
    expect(p.holds('r1', 7000)).toBe(false);
    expect(p.plan('r1', 1, 7000)).toMatchObject({ kind: 'place' });
  });

  it('redirects to the owner named by Redis, and counts the join into that node until the next view', () => {
    const p = new RoomPlacement(self, OPTS);
    p.viewed([node('a', 2), node('c', 3)], 0);
    expect(p.placed('r1', 'a', 10)).toEqual({ kind: 'redirect', url: 'http://a.test', node: 'a' });
    expect(p.placed('r2', 'a', 10)).toMatchObject({ node: 'a' });
    // a has 4 now in this node's estimate: the next new room goes to c (3), then b itself at 3 sessions ties c: b
    expect(p.plan('r3', 5, 20)).toMatchObject({ candidate: 'c' });
    expect(p.plan('r3', 3, 20)).toMatchObject({ candidate: 'b' });
    // an owner this node has not seen yet: no URL to send the client to
    expect(p.placed('r4', 'zz', 10)).toEqual({ kind: 'refuse', code: 'store_unavailable' });
  });

  it('draining: offers another node for a new room, refuses when there is none, still serves its own rooms', () => {
    const p = new RoomPlacement(self, OPTS);
    p.viewed([node('a', 50)], 0);
    p.placed('mine', 'b', 0);
    p.joined('mine');
    p.draining = true;
    expect(p.record(1)).toMatchObject({ draining: true, sessions: 1, rooms: 1 });
    expect(p.plan('new', 0, 100)).toMatchObject({ kind: 'place', candidate: 'a' });
    expect(p.plan('mine', 1, 100)).toEqual({ kind: 'serve' });
    p.viewed([node('a', 0, 0, true)], 200);
    expect(p.plan('new', 0, 300)).toEqual({ kind: 'refuse', code: 'node_draining' });
  });

  it('draining: a room mapped to this node with no member here is not kept (another node placed it on a stale view)', () => {
    const p = new RoomPlacement(self, OPTS);
    p.viewed([node('a', 50)], 0);
    p.draining = true;
    // b's own id is left out of the live ids: Redis replaces a mapping to b by the candidate
    expect(p.plan('stale', 0, 10)).toEqual({ kind: 'place', candidate: 'a', live: ['a'] });
    // with a member here, the room stays b's even while its lease is renewed through Redis
    p.placed('mine', 'b', 0);
    p.joined('mine');
    p.viewed([node('a', 50)], 5000);
    expect(p.plan('mine', 1, 7000)).toEqual({ kind: 'place', candidate: 'a', live: ['b', 'a'] });
  });

  it('renews every leaseRenewMs the rooms with members, releases emptied ones once, and forgets unused claims after their lease', () => {
    const p = new RoomPlacement(self, OPTS);
    expect(p.renewDue(0)).toBe(true);
    expect(p.takeRenewWork(0)).toEqual({ renew: [], release: [] });
    expect(p.nextWakeMs()).toBe(2000);
    expect(p.renewDue(1999)).toBe(false);
    expect(p.renewDue(2000)).toBe(true);
    p.placed('busy', 'b', 100);
    p.joined('busy');
    p.placed('claimed', 'b', 100); // a client was sent here and never came
    p.placed('short', 'b', 100);
    p.joined('short');
    p.left('short');
    expect(p.takeRenewWork(2000)).toEqual({ renew: ['busy'], release: ['short'] });
    expect(p.takeRenewWork(4000)).toEqual({ renew: ['busy'], release: [] });
    expect(p.holds('claimed', 6099)).toBe(true);
    expect(p.takeRenewWork(6100)).toEqual({ renew: ['busy'], release: [] });
    expect(p.holds('claimed', 6100)).toBe(false);
    expect(p.heldRooms(6000)).toEqual(['busy']);
  });

  it('a renewal extends the lease from when it was sent; a lost one ends it at once (joins ask Redis again)', () => {
    const p = new RoomPlacement(self, OPTS);
    p.viewed([node('a', 0)], 0);
    p.placed('r', 'b', 0);
    p.joined('r');
    p.renewed('r', true, 2000);
    expect(p.holds('r', 7999)).toBe(true);
    expect(p.holds('r', 8000)).toBe(false);
    // an answer that arrives late never shortens the lease
    p.renewed('r', true, 1000);
    expect(p.holds('r', 7999)).toBe(true);
    p.renewed('r', false, 4000);
    expect(p.holds('r', 4001)).toBe(false);
    expect(p.holdsMembers('r')).toBe(true);
    expect(p.plan('r', 1, 4001)).toMatchObject({ kind: 'place' });
  });

  it('a room that empties and fills again before the tick is not released', () => {
    const p = new RoomPlacement(self, OPTS);
    p.placed('r', 'b', 0);
    p.joined('r');
    p.left('r');
    p.joined('r');
    expect(p.takeRenewWork(10)).toEqual({ renew: ['r'], release: [] });
    expect(p.record(1).rooms).toBe(1);
  });
});

describe('parseNodeRecord', () => {
  it('reads a record and skips anything else', () => {
    const rec = node('a', 3, 1);
    expect(parseNodeRecord(JSON.stringify(rec))).toEqual(rec);
    expect(parseNodeRecord('not json')).toBeUndefined();
    expect(parseNodeRecord('null')).toBeUndefined();
    expect(parseNodeRecord(JSON.stringify({ ...rec, sessions: -1 }))).toBeUndefined();
    expect(parseNodeRecord(JSON.stringify({ ...rec, udp: { host: 'h' } }))).toBeUndefined();
    expect(parseNodeRecord(JSON.stringify({ ...rec, draining: 'no' }))).toBeUndefined();
  });
});
