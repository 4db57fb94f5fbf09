/**
 * The metadata-leak meter: from what each observer recorded, how well can a simple classifier
 * tell, per 100 ms window, whether a participant is talking? Three views:
 *
 * 1. network observer, padding off: the unpadded VBR stream of the same speech (unpadded.ts);
 * 2. network observer, hop padding on: the real cells of the SDK through the tap;
 * 3. the relay itself: records it accepted per sender per window (its own counters), in rooms
 *    without and with end-to-end padding.
 *
 * 4. WebRTC participants (the edge): the network observer on the session's UDP datagrams (SRTP,
 *    SRTCP, SCTP, STUN; sizes and timing, uplink and downlink), and the relay-side view: each RTP
 *    packet the relay forwarded from the sender (time and payload size, the fields it reads).
 *
 * Scores are balanced accuracies on the held-out second half of the call (classifier.ts); 50% is
 * chance. Goals: <= 52% with padding, >= 90% without (the meter must be able to see a leak);
 * WebRTC views <= 55% (issue 12: browsers' traffic is shaped by their own stacks, not the SDK's pacer).
 */
import { scoreLeak, type LeakScore } from './classifier.js';
import { appendSet, counterWindows, emptySet, OBSERVER_FEATURES, TIMING_FEATURES, timingWindows, traceWindows, windowLabels, type WindowSet } from './features.js';
import type { TapTrace } from './tap.js';
import type { Intervals } from '../speech.js';

export const PADDED_GOAL = 0.52;
export const UNPADDED_GOAL = 0.9;
export const RTC_GOAL = 0.55;
const IP_UDP_BYTES = 28;

export interface LeakSubject {
  /** Talk intervals, ms from t0. */
  talk: Intervals;
  /** The participant's cells as the tap saw them (hop padding on). */
  padded?: TapTrace;
  /** The unpadded mirror stream of the same speech. */
  unpadded?: TapTrace;
  /** Relay samples [epoch ms, cumulative records accepted from this participant]. */
  relayRecords?: Array<[number, number]>;
  e2ePadding: boolean;
  roomSize: number;
  /** WebRTC participant: its session's datagrams as the tap saw them. */
  rtcWire?: TapTrace;
  /** WebRTC participant: the RTP packets the relay forwarded from it (t, payload bytes; up = 1). */
  rtcRelay?: TapTrace;
}

export interface LeakView extends LeakScore {
  view: string;
  /** Passes its goal (<= 52% for padded views, >= 90% for the unpadded ones). */
  meetsGoal: boolean;
  goal: string;
  participants: number;
}

export interface LeakReport {
  windowMs: number;
  windowsPerParticipant: number;
  views: LeakView[];
  bandwidth: {
    /** Mean per participant, kbit/s on the wire (IPv4 + UDP headers included). */
    unpaddedUpKbps: number;
    paddedUpKbps: number;
    /** Unpadded downlink: an SFU forwarding every other member's unpadded stream. */
    unpaddedDownKbps: number;
    paddedDownKbps: number;
    upCost: number;
    downCost: number;
  };
  notes: string[];
}

export function measureLeak(subjects: LeakSubject[], t0: number, durationMs: number, windowMs = 100): LeakReport {
  const n = Math.floor(durationMs / windowMs);
  const sets = { off: emptySet(), hop: emptySet(), hopTiming: emptySet(), relayOff: emptySet(), relayOn: emptySet(), rtc: emptySet(), rtcTiming: emptySet(), rtcRelay: emptySet() };
  const count = { off: 0, hop: 0, hopTiming: 0, relayOff: 0, relayOn: 0, rtc: 0, rtcTiming: 0, rtcRelay: 0 };
  const bw = { unUp: 0, unDown: 0, pUp: 0, pDown: 0, nUn: 0, nP: 0 };
  const add = (key: keyof typeof sets, x: number[][], y: number[]): void => {
    const s: WindowSet = { x, y, w: x.map((_, i) => i) };
    appendSet(sets[key], s);
    count[key]++;
  };
  for (const s of subjects) {
    const y = windowLabels(s.talk, n, windowMs);
    if (s.unpadded !== undefined) {
      add('off', traceWindows(s.unpadded, t0, n, windowMs), y);
      const up = wireKbps(s.unpadded, t0, durationMs, 1);
      bw.unUp += up;
      bw.unDown += up * Math.max(0, s.roomSize - 1);
      bw.nUn++;
    }
    if (s.padded !== undefined) {
      const volume = traceWindows(s.padded, t0, n, windowMs);
      add('hop', volume, y);
      const timing = timingWindows(s.padded, t0, n, windowMs);
      add('hopTiming', volume.map((row, i) => [...row, ...timing[i]!]), y);
      bw.pUp += wireKbps(s.padded, t0, durationMs, 1);
      bw.pDown += wireKbps(s.padded, t0, durationMs, 0);
      bw.nP++;
    }
    if (s.rtcWire !== undefined) {
      const volume = traceWindows(s.rtcWire, t0, n, windowMs);
      add('rtc', volume, y);
      const timing = timingWindows(s.rtcWire, t0, n, windowMs);
      add('rtcTiming', volume.map((row, i) => [...row, ...timing[i]!]), y);
      bw.pUp += wireKbps(s.rtcWire, t0, durationMs, 1);
      bw.pDown += wireKbps(s.rtcWire, t0, durationMs, 0);
      bw.nP++;
    }
    if (s.rtcRelay !== undefined) add('rtcRelay', traceWindows(s.rtcRelay, t0, n, windowMs).map((row) => [row[0]!, row[1]!]), y);
    if (s.relayRecords !== undefined && s.relayRecords.length > 1) add(s.e2ePadding ? 'relayOn' : 'relayOff', counterWindows(s.relayRecords, t0, n, windowMs), y);
  }
  const views: LeakView[] = [];
  const view = (key: keyof typeof sets, name: string, names: readonly string[], padded: boolean, cap = PADDED_GOAL): void => {
    if (count[key] === 0) return;
    const score = scoreLeak(sets[key], names);
    views.push({
      view: name,
      ...score,
      participants: count[key],
      goal: padded ? `<= ${Math.round(cap * 100)}%` : `>= ${UNPADDED_GOAL * 100}%`,
      meetsGoal: padded ? score.balancedAccuracy <= cap : score.balancedAccuracy >= UNPADDED_GOAL,
    });
  };
  view('off', 'network observer, padding off (unpadded VBR stream, kit-generated)', OBSERVER_FEATURES, false);
  view('hop', 'network observer, hop padding on (SDK cells)', OBSERVER_FEATURES, true);
  view('hopTiming', 'network observer, hop padding on, stronger attacker (+ inter-arrival timing)', [...OBSERVER_FEATURES, ...TIMING_FEATURES], true);
  view('relayOff', 'relay, per-sender records, e2e padding off', ['records'], false);
  view('relayOn', 'relay, per-sender records, e2e padding on', ['records'], true);
  view('rtc', 'network observer, WebRTC edge (UDP datagrams of the session: SRTP audio sealed to one size, RTCP, SCTP)', OBSERVER_FEATURES, true, RTC_GOAL);
  view('rtcTiming', 'network observer, WebRTC edge, stronger attacker (+ inter-arrival timing)', [...OBSERVER_FEATURES, ...TIMING_FEATURES], true, RTC_GOAL);
  view('rtcRelay', 'relay, WebRTC edge: RTP forwarded per sender (packets, payload bytes)', ['packets', 'payload bytes'], true, RTC_GOAL);
  const notes: string[] = [];
  if (count.rtc > 0 || count.rtcRelay > 0) {
    notes.push(
      'WebRTC views: the network observer reads every UDP datagram of the session through the tap (SRTP audio sealed end to end to one size, sent every 20 ms in talk and silence as browsers do with DTX off; RTCP; the roster channel). The relay-side view is every RTP packet the edge forwarded from the sender (arrival time, payload size: what the relay reads besides header fields that do not depend on speech), recorded at one receiver of that sender; the edge forwards each packet unchanged, so this is the relay\'s uplink view minus losses. Padded bandwidth figures count the WebRTC sessions\' datagrams too.',
    );
  }
  const unUp = bw.unUp / Math.max(1, bw.nUn);
  const unDown = bw.unDown / Math.max(1, bw.nUn);
  const pUp = bw.pUp / Math.max(1, bw.nP);
  const pDown = bw.pDown / Math.max(1, bw.nP);
  return {
    windowMs,
    windowsPerParticipant: n,
    views,
    bandwidth: { unpaddedUpKbps: unUp, paddedUpKbps: pUp, unpaddedDownKbps: unDown, paddedDownKbps: pDown, upCost: pUp / unUp, downCost: pDown / unDown },
    notes: [
      ...notes,
      'Padding-off view: the SDK and relay always pad (no switch), so the kit sends the unpadded VBR stream of the same speech (12 B RTP + Opus VBR frame + 10 B SRTP tag per 20 ms, DTX off) as real UDP through the same kind of tap to a loopback sink.',
      'Train on the first half of each call (by time), score on the second half; the pick between logistic regression and a single-feature threshold is made on the training half.',
    ],
  };
}

/** Mean wire kbit/s of one direction (1 = up) over [t0, t0 + durationMs). */
function wireKbps(trace: TapTrace, t0: number, durationMs: number, up: number): number {
  let bytes = 0;
  for (let i = 0; i < trace.count; i++) {
    const t = trace.t[i]!;
    if (trace.up[i] === up && t >= t0 && t < t0 + durationMs) bytes += trace.size[i]! + IP_UDP_BYTES;
  }
  return (bytes * 8) / durationMs;
}
