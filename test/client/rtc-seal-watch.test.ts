/** SealWatch (src/client/rtc/seal-watch.ts): sent frames beyond sealed ones are caught, in-flight slack is not. */
import { describe, expect, it } from 'vitest';
import { SealWatch } from '../../src/client/rtc/seal-watch.js';

describe('SealWatch', () => {
  it('passes while every sent frame was sealed (frames in flight within the slack)', () => {
    const w = new SealWatch(10);
    expect(w.check({ audio: { sealed: 100, sent: 97 }, video: { sealed: 40, sent: 40 } })).toEqual([]);
    expect(w.check({ audio: { sealed: 200, sent: 205 }, video: { sealed: 80, sent: 89 } })).toEqual([]);
    expect(w.check({ audio: { sealed: 300, sent: 305 } })).toEqual([]);
  });

  it('flags each kind that sent more than it sealed since the last check', () => {
    const w = new SealWatch(10);
    expect(w.check({ audio: { sealed: 100, sent: 100 }, video: { sealed: 30, sent: 30 } })).toEqual([]);
    // The transform stopped for audio: packets keep going out, nothing sealed.
    expect(w.check({ audio: { sealed: 100, sent: 200 }, video: { sealed: 60, sent: 60 } })).toEqual(['audio']);
    expect(w.check({ audio: { sealed: 100, sent: 300 }, video: { sealed: 60, sent: 90 } })).toEqual(['audio', 'video']);
    // From the start: a sender that never passed the transform.
    expect(new SealWatch(10).check({ video: { sealed: 0, sent: 11 } })).toEqual(['video']);
  });
});
