/**
 * The leak meter can fail (issue 6, must show 3): on a stream built to leak (sizes track speech)
 * it reports high balanced accuracy; on a padded stream it reports chance. Synthetic, seeded data:
 * deterministic and fast.
 */
import { describe, expect, it } from 'vitest';
import { balancedAccuracy, scoreLeak } from '../../src/load/leak/classifier.js';
import { measureLeak, type LeakSubject } from '../../src/load/leak/meter.js';
import { syntheticRelayRecords, syntheticTrace } from '../../src/load/leak/synthetic.js';
import { seededRng, subSeed } from '../../src/load/rng.js';
import { P59, talkSchedule } from '../../src/load/speech.js';

const DURATION = 120_000;
const T0 = 1_000_000;

function subjects(seed: number, count: number): LeakSubject[] {
  const out: LeakSubject[] = [];
  for (let i = 0; i < count; i++) {
    const rng = seededRng(subSeed(seed, i));
    const talk = talkSchedule(rng, P59, DURATION);
    out.push({
      talk,
      unpadded: syntheticTrace(rng, talk, T0, DURATION, 'leaky'),
      padded: syntheticTrace(rng, talk, T0, DURATION, 'padded'),
      relayRecords: syntheticRelayRecords(talk, T0, DURATION, i % 2 === 1),
      e2ePadding: i % 2 === 1,
      roomSize: count,
    });
  }
  return out;
}

describe('leak meter', () => {
  it('balanced accuracy is the mean of per-class recalls (chance = 50% whatever the talk share)', () => {
    expect(balancedAccuracy([1, 1, 1, 1], [1, 0, 0, 0])).toBe(0.5);
    expect(balancedAccuracy([1, 0, 0, 0], [1, 0, 0, 0])).toBe(1);
    expect(balancedAccuracy([0, 1, 1, 1], [1, 0, 0, 0])).toBe(0);
  });

  it('sees the leak on a stream whose sizes track speech, and none on a padded one', () => {
    const report = measureLeak(subjects(7, 4), T0, DURATION);
    const view = (prefix: string) => report.views.find((v) => v.view.startsWith(prefix))!;
    const off = view('network observer, padding off');
    const hop = view('network observer, hop padding on (');
    const timing = view('network observer, hop padding on, stronger');
    const relayOff = view('relay, per-sender records, e2e padding off');
    const relayOn = view('relay, per-sender records, e2e padding on');
    console.log(report.views.map((v) => `${v.view}: ${(100 * v.balancedAccuracy).toFixed(1)}% (${v.classifier})`).join('\n'));
    expect(off.balancedAccuracy).toBeGreaterThanOrEqual(0.9);
    expect(off.meetsGoal).toBe(true);
    expect(relayOff.balancedAccuracy).toBeGreaterThanOrEqual(0.9);
    expect(hop.balancedAccuracy).toBeLessThanOrEqual(0.55);
    expect(timing.balancedAccuracy).toBeLessThanOrEqual(0.55);
    expect(relayOn.balancedAccuracy).toBeLessThanOrEqual(0.55);
    expect(report.bandwidth.upCost).toBeGreaterThan(1);
  });

  it('a constant feature gives exactly chance; a perfectly separable one gives 100%', () => {
    const y = Array.from({ length: 200 }, (_, i) => (Math.floor(i / 7) % 2 === 0 ? 1 : 0));
    const w = y.map((_, i) => i);
    expect(scoreLeak({ x: y.map(() => [5, 5]), y, w }).balancedAccuracy).toBe(0.5);
    expect(scoreLeak({ x: y.map((v) => [v * 100 + 3]), y, w }).balancedAccuracy).toBe(1);
  });
});
