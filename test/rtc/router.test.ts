// The sans-IO room router: slot mapping per receiver, roster epochs, refill on leave, admission
// codes, and the key-frame rule with injected time.
import { describe, expect, it } from 'vitest';
import { RtcRouter, type RouterAction } from '../../src/rtc/core/rtc-router.js';

const slots = (n: number, video = false, base = 1) => ({
  audio: Array.from({ length: n }, (_, i) => String(base + i)),
  video: video ? Array.from({ length: n }, (_, i) => String(base + n + i)) : [],
});

function joined(r: ReturnType<RtcRouter['join']>): { member: number; actions: RouterAction[] } {
  if (typeof r === 'string') throw new Error(r);
  return r;
}

describe('RtcRouter', () => {
  it('maps every other member to one slot of each receiver; every change bumps the epoch and sends each member its roster', () => {
    const r = new RtcRouter({ roomCap: 4, maxSessions: 100, keyframeMinIntervalMs: 500 });
    const a = joined(r.join('room', 'audio', false, slots(3), 'tagA'));
    expect(a.actions).toEqual([{ type: 'roster', member: a.member, epoch: 1, slots: [] }]);
    const b = joined(r.join('room', 'audio', false, slots(3), 'tagB'));
    const c = joined(r.join('room', 'audio', false, slots(3), 'tagC'));
    expect(c.actions.filter((x) => x.type === 'roster').map((x) => x.type === 'roster' && x.epoch)).toEqual([3, 3, 3]);
    expect(r.roster(a.member)).toEqual({ epoch: 3, slots: [{ mid: '1', member: 'tagB', kind: 'audio' }, { mid: '2', member: 'tagC', kind: 'audio' }] });
    expect(r.roster(c.member)!.slots.map((s) => s.member)).toEqual(['tagA', 'tagB']);
    expect(r.targets(a.member, 'audio')).toEqual([{ receiver: b.member, mid: '1' }, { receiver: c.member, mid: '1' }]);
    expect(r.targets(a.member, 'video')).toEqual([]);
    expect(r.senderOf(b.member, '2')).toBe(c.member);
    expect(r.sessionCount).toBe(3);
    expect(r.roomCount).toBe(1);
  });

  it('leave frees the slots, a member without a slot takes the freed one, an empty room is gone', () => {
    const r = new RtcRouter({ roomCap: 4, maxSessions: 100, keyframeMinIntervalMs: 500 });
    const a = joined(r.join('room', 'audio', false, slots(1), 'A')); // one slot only
    const b = joined(r.join('room', 'audio', false, slots(3), 'B'));
    const c = joined(r.join('room', 'audio', false, slots(3), 'C'));
    expect(r.roster(a.member)!.slots.map((s) => s.member)).toEqual(['B']); // C found no free slot at A
    const actions = r.leave(b.member);
    expect(r.roster(a.member)).toEqual({ epoch: 4, slots: [{ mid: '1', member: 'C', kind: 'audio' }] });
    expect(actions.filter((x) => x.type === 'roster').length).toBe(2);
    expect(r.targets(c.member, 'audio')).toEqual([{ receiver: a.member, mid: '1' }]);
    expect(r.targets(b.member, 'audio')).toEqual([]);
    expect(r.leave(b.member)).toEqual([]); // twice: nothing
    r.leave(a.member);
    expect(r.leave(c.member)).toEqual([]);
    expect(r.roomCount).toBe(0);
    expect(r.sessionCount).toBe(0);
  });

  it('admission: room cap, profile mismatch, relay-wide session cap', () => {
    const r = new RtcRouter({ roomCap: 2, maxSessions: 3, keyframeMinIntervalMs: 500 });
    joined(r.join('x', 'audio', false, slots(1), 'a'));
    expect(r.join('x', 'video', true, slots(1, true), 'b')).toBe('profile_mismatch');
    joined(r.join('x', 'audio', false, slots(1), 'b'));
    expect(r.join('x', 'audio', false, slots(1), 'c')).toBe('room_full');
    joined(r.join('y', 'audio', false, slots(1), 'c'));
    expect(r.join('z', 'audio', false, slots(1), 'd')).toBe('too_many_sessions');
  });

  it('video: a receiver that connects asks each sender in its video slots for a key frame; PLIs are rate-limited per sender', () => {
    const r = new RtcRouter({ roomCap: 3, maxSessions: 10, keyframeMinIntervalMs: 500 });
    const a = joined(r.join('v', 'video', true, slots(2, true), 'A'));
    const b = joined(r.join('v', 'video', true, slots(2, true), 'B'));
    expect(b.actions.some((x) => x.type === 'keyframe')).toBe(false); // b is not connected yet
    expect(r.targets(a.member, 'video')).toEqual([{ receiver: b.member, mid: '3' }]);
    expect(r.connected(b.member, 1000)).toEqual([{ type: 'keyframe', sender: a.member }]);
    // the connect started A's interval: a PLI from B right after is suppressed, later forwarded
    expect(r.keyframeRequest(b.member, '3', 1200)).toBeUndefined();
    expect(r.keyframeRequest(b.member, '3', 1500)).toBe(a.member);
    expect(r.keyframeRequest(b.member, '3', 1999)).toBeUndefined();
    expect(r.keyframeRequest(b.member, '3', 2000)).toBe(a.member);
    expect(r.keyframeRequest(b.member, '4', 5000)).toBeUndefined(); // a free slot has no sender
    expect(r.keyframeRequest(b.member, '1', 5000)).toBe(a.member); // audio slot of A: the rule is per slot's sender
    // a refill of a connected receiver's video slot asks the new sender for a key frame
    const c = joined(r.join('v', 'video', true, slots(1, true), 'C'));
    expect(r.roster(c.member)!.slots.map((s) => `${s.kind}:${s.member}`)).toEqual(['audio:A', 'video:A']);
    const left = r.leave(a.member);
    expect(left).toContainEqual({ type: 'keyframe', sender: b.member });
    expect(r.roster(c.member)!.slots.map((s) => `${s.kind}:${s.member}`)).toEqual(['audio:B', 'video:B']);
  });
});
