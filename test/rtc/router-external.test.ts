// The room router's external members (mixed rooms: cell members the bridge adds): they take an
// audio slot at each WebRTC member, get no roster of their own, do not count toward roomCap or
// maxSessions, free their slots on leave, and go with the room when its last WebRTC member leaves.
import { describe, expect, it } from 'vitest';
import { RtcRouter, type RouterAction } from '../../src/rtc/core/rtc-router.js';

const audio = (n: number) => ({ audio: Array.from({ length: n }, (_, i) => String(1 + i)), video: [] });

function joined(r: ReturnType<RtcRouter['join']>): { member: number; actions: RouterAction[] } {
  if (typeof r === 'string') throw new Error(r);
  return r;
}

describe('RtcRouter external members', () => {
  it('a cell member takes a slot at each WebRTC member; rosters go to WebRTC members only', () => {
    const r = new RtcRouter({ roomCap: 2, maxSessions: 3, keyframeMinIntervalMs: 500 });
    expect(r.joinExternal('room', 'cellX')).toBeUndefined(); // no WebRTC member, no room
    const a = joined(r.join('room', 'audio', false, audio(2), 'tagA'));
    const x = r.joinExternal('room', 'cellX')!;
    expect(x.actions).toEqual([{ type: 'roster', member: a.member, epoch: 2, slots: [{ mid: '1', member: 'cellX', kind: 'audio' }] }]);
    const b = joined(r.join('room', 'audio', false, audio(2), 'tagB'));
    expect(r.roster(b.member)!.slots.map((s) => s.member)).toEqual(['tagA', 'cellX']);
    expect(r.targets(x.member, 'audio')).toEqual([{ receiver: a.member, mid: '1' }, { receiver: b.member, mid: '2' }]);
    // not counted: two WebRTC members fill roomCap 2 with a cell member present
    expect(r.sessionCount).toBe(2);
    expect(r.join('room', 'audio', false, audio(2), 'tagC')).toBe('room_full');
    // a second cell member finds no free slot at A or B (2 slots each): no target, no error
    const y = r.joinExternal('room', 'cellY')!;
    expect(r.targets(y.member, 'audio')).toEqual([]);
    // X leaves: its slots are refilled with Y
    const left = r.leave(x.member);
    expect(left.filter((q) => q.type === 'roster').length).toBe(2);
    expect(r.senderOf(a.member, '1')).toBe(y.member);
    expect(r.roster(b.member)!.slots.map((s) => s.member)).toEqual(['tagA', 'cellY']);
  });

  it('the room goes with its last WebRTC member, cell members with it', () => {
    const r = new RtcRouter({ roomCap: 8, maxSessions: 8, keyframeMinIntervalMs: 500 });
    const a = joined(r.join('room', 'audio-room', false, audio(3), 'tagA'));
    const x = r.joinExternal('room', 'cellX')!;
    expect(r.leave(a.member)).toEqual([]);
    expect(r.roomCount).toBe(0);
    expect(r.sessionCount).toBe(0);
    expect(r.leave(x.member)).toEqual([]); // already gone: no-op
    // the room id is free again, with any profile
    joined(r.join('room', 'audio', false, audio(3), 'tagB'));
    expect(r.roomCount).toBe(1);
  });

  it('in a video room a cell member takes an audio slot only', () => {
    const r = new RtcRouter({ roomCap: 8, maxSessions: 8, keyframeMinIntervalMs: 500 });
    const a = joined(r.join('room', 'video', true, { audio: ['1', '2'], video: ['3', '4'] }, 'tagA'));
    const x = r.joinExternal('room', 'cellX')!;
    expect(r.roster(a.member)!.slots).toEqual([{ mid: '1', member: 'cellX', kind: 'audio' }]);
    expect(x.actions.some((q) => q.type === 'keyframe')).toBe(false);
  });
});
