/**
 * The load kit's WebRTC pieces without a relay: the answer rewrite that routes a session through
 * an observer tap (and the tap following it), the kit-filled relay-side trace, the rules of `rtc`
 * groups (scenario files and --transport), and the leak meter's WebRTC views on seeded synthetic
 * traces: a stream whose sizes track speech must score high, a sealed one-size stream at chance.
 */
import { createSocket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { runLoadCommand } from '../../src/load/cli.js';
import { measureLeak, RTC_GOAL, type LeakSubject } from '../../src/load/leak/meter.js';
import { syntheticTrace } from '../../src/load/leak/synthetic.js';
import { TraceRecorder, UdpTap } from '../../src/load/leak/tap.js';
import { LoadArgError, parseLoadArgs } from '../../src/load/options.js';
import { seededRng, subSeed } from '../../src/load/rng.js';
import { viaTap } from '../../src/load/rtc/rtc-load-call.js';
import { validateScenario } from '../../src/load/scenario.js';
import { P59, talkSchedule } from '../../src/load/speech.js';

const ANSWER = ['v=0', 'a=ice-lite', 'm=audio 9 UDP/TLS/RTP/SAVPF 96', 'a=candidate:1 1 udp 2130706431 127.0.0.1 45678 typ host', 'a=end-of-candidates', ''].join('\r\n');

describe('load kit: WebRTC participants', () => {
  it('rewrites the answer\'s host candidate to the tap and points the tap at the relay\'s port', async () => {
    const relay = createSocket('udp4');
    const client = createSocket('udp4');
    await Promise.all([relay, client].map((s) => new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()))));
    const tap = new UdpTap({ host: '127.0.0.1', port: 0 });
    try {
      const front = await tap.start();
      const answer = ANSWER.replace('45678', String(relay.address().port));
      const shaped = viaTap(answer, tap, front);
      expect(shaped).toContain(` 127.0.0.1 ${front.port} typ host`);
      expect(shaped).not.toContain(` ${relay.address().port} typ host`);
      expect(shaped.replace(String(front.port), 'P')).toBe(answer.replace(String(relay.address().port), 'P'));
      // A datagram to the tap's front reaches the relay socket, and the reply comes back: both recorded.
      const got = new Promise<Buffer>((r) => relay.once('message', (m, from) => (relay.send(Buffer.alloc(7), from.port, from.address), r(m))));
      const back = new Promise<Buffer>((r) => client.once('message', (m) => r(m)));
      client.send(Buffer.alloc(5), front.port, front.host);
      expect((await got).length).toBe(5);
      expect((await back).length).toBe(7);
      const tr = tap.trace();
      expect(tr.count).toBe(2);
      expect([...tr.size]).toEqual([5, 7]);
      expect([...tr.up]).toEqual([1, 0]);
    } finally {
      tap.close();
      relay.close();
      client.close();
    }
  });

  it('the relay-side trace recorder keeps what fits and counts the rest', () => {
    const rec = new TraceRecorder(3);
    for (let i = 0; i < 5; i++) rec.record(1000 + i, 114, 1);
    const tr = rec.trace();
    expect(tr.count).toBe(3);
    expect(tr.unrecorded).toBe(2);
    expect([...tr.t]).toEqual([1000, 1001, 1002]);
  });

  it('rtc groups: audio only, no e2e dummies, rooms of 2..64, no churn; --transport rtc applies the same rules', async () => {
    const group = { name: 'g', rooms: 1, participants: 3, profile: 'audio', media: 'audio', e2ePadding: false, transport: 'rtc' };
    expect(validateScenario({ groups: [group] }).groups[0]!.transport).toBe('rtc');
    expect(() => validateScenario({ groups: [{ ...group, media: 'video' }] })).toThrow(/groups\[0\]\.media/);
    expect(() => validateScenario({ groups: [{ ...group, e2ePadding: true }] })).toThrow(/groups\[0\]\.e2ePadding/);
    expect(() => validateScenario({ groups: [{ ...group, participants: 65 }] })).toThrow(/groups\[0\]\.participants/);
    expect(() => validateScenario({ groups: [{ ...group, churn: { everyMs: 1000 } }] })).toThrow(/groups\[0\]\.churn/);
    expect(() => validateScenario({ groups: [{ ...group, transport: 'quic' }] })).toThrow(/groups\[0\]\.transport/);
    expect(parseLoadArgs(['--transport', 'rtc']).transport).toBe('rtc');
    expect(() => parseLoadArgs(['--transport', 'tcp'])).toThrow(LoadArgError);
    try {
      parseLoadArgs(['--transport', 'tcp']);
    } catch (err) {
      expect((err as LoadArgError).code).toBe('bad_value');
    }
    // video-rooms has video groups: --transport rtc refuses it before any socket is opened (exit 2).
    const errors: string[] = [];
    const orig = console.error;
    console.error = (...a: unknown[]) => void errors.push(a.join(' '));
    try {
      expect(await runLoadCommand(['--scenario', 'video-rooms', '--transport', 'rtc', '--quiet'])).toBe(2);
    } finally {
      console.error = orig;
    }
    expect(errors.join('\n')).toContain('[conflicting_options]');
  });

  it('leak meter, WebRTC views: a stream whose sizes track speech is seen, a sealed one-size stream is not', () => {
    const DURATION = 120_000;
    const T0 = 2_000_000;
    const subjects = (mode: 'leaky' | 'padded'): LeakSubject[] =>
      Array.from({ length: 6 }, (_, i) => {
        const rng = seededRng(subSeed(21, i));
        const talk = talkSchedule(rng, P59, DURATION);
        return { talk, rtcWire: syntheticTrace(rng, talk, T0, DURATION, mode), rtcRelay: syntheticTrace(rng, talk, T0, DURATION, mode), e2ePadding: false, roomSize: 3 };
      });
    const pick = (r: ReturnType<typeof measureLeak>, prefix: string) => r.views.find((v) => v.view.startsWith(prefix))!;
    const leaky = measureLeak(subjects('leaky'), T0, DURATION);
    const sealed = measureLeak(subjects('padded'), T0, DURATION);
    expect(leaky.views.map((v) => v.view)).toHaveLength(3);
    for (const prefix of ['network observer, WebRTC edge (', 'network observer, WebRTC edge, stronger', 'relay, WebRTC edge']) {
      const l = pick(leaky, prefix);
      const s = pick(sealed, prefix);
      console.log(`${prefix}: leaky ${(100 * l.balancedAccuracy).toFixed(1)}%, sealed ${(100 * s.balancedAccuracy).toFixed(1)}%`);
      expect(l.balancedAccuracy).toBeGreaterThan(0.85);
      expect(l.meetsGoal).toBe(false);
      expect(s.balancedAccuracy).toBeLessThanOrEqual(RTC_GOAL);
      expect(s.meetsGoal).toBe(true);
      expect(s.participants).toBe(6);
    }
  });
});
