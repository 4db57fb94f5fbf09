/**
 * Synthetic speech activity: talk spurts and pauses with realistic lengths, and the frame sizes a
 * VBR codec would produce. The on/off model follows ITU-T P.59 (conversational speech: talk spurt
 * mean ~1.0 s, pause mean ~1.6 s, both roughly exponential), clipped so no spurt or pause is
 * shorter than a syllable. Group rooms stretch the pauses so only a few members talk at once.
 */
import { expSample, intBetween, type Rng } from './rng.js';

export interface SpeechModel {
  /** Mean talk spurt, ms (P.59: 1004). */
  talkMeanMs: number;
  /** Mean pause, ms (P.59: 1587; larger in group rooms, where most members listen). */
  pauseMeanMs: number;
  /** Shortest spurt or pause, ms. */
  minMs?: number;
}

export const P59: SpeechModel = { talkMeanMs: 1004, pauseMeanMs: 1587, minMs: 200 };

/** Talk intervals [start, end) in ms from the start of the call, sorted and disjoint. */
export type Intervals = Array<[number, number]>;

export function talkSchedule(rng: Rng, model: SpeechModel, durationMs: number): Intervals {
  const min = model.minMs ?? 200;
  const out: Intervals = [];
  // Start in a random phase: talking with the stationary probability of the on/off process.
  const share = model.talkMeanMs / (model.talkMeanMs + model.pauseMeanMs);
  let t = 0;
  let talking = rng() < share;
  while (t < durationMs) {
    const len = Math.max(min, expSample(rng, talking ? model.talkMeanMs : model.pauseMeanMs));
    if (talking) out.push([t, Math.min(durationMs, t + len)]);
    t += len;
    talking = !talking;
  }
  return out;
}

/** True when `t` (ms from start) falls in a talk interval (binary search). */
export function isTalking(iv: Intervals, t: number): boolean {
  let lo = 0;
  let hi = iv.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [a, b] = iv[mid]!;
    if (t < a) hi = mid - 1;
    else if (t >= b) lo = mid + 1;
    else return true;
  }
  return false;
}

/** Fraction of [a, b) covered by talk. */
export function talkFraction(iv: Intervals, a: number, b: number): number {
  let covered = 0;
  for (const [s, e] of iv) {
    if (e <= a) continue;
    if (s >= b) break;
    covered += Math.min(b, e) - Math.max(a, s);
  }
  return covered / (b - a);
}

export function talkShare(iv: Intervals, durationMs: number): number {
  return iv.reduce((acc, [a, b]) => acc + (b - a), 0) / durationMs;
}

/**
 * Bytes of one 20 ms Opus frame in VBR mode at ~32 kbit/s: voiced frames 60..120 bytes, and what a
 * codec emits in silence with DTX off (comfort-noise-like 8..20 bytes). The unpadded observer view
 * and the RTP-like packets the kit sends both use it.
 */
export function opusFrameBytes(rng: Rng, talking: boolean): number {
  return talking ? intBetween(rng, 60, 120) : intBetween(rng, 8, 20);
}

/** Packet sizes of one video frame (VBR, keyframe every `gop` frames), split at `mtu` bytes. */
export function videoFramePackets(rng: Rng, frameIndex: number, meanBytes: number, gop: number, mtu: number): number[] {
  const key = frameIndex % gop === 0;
  const size = Math.max(200, Math.round(meanBytes * (key ? 5 : 0.6 + rng() * 0.8)));
  const out: number[] = [];
  for (let left = size; left > 0; left -= mtu) out.push(Math.min(mtu, left));
  return out;
}
