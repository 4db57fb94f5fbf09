/**
 * Synthetic observer traces for testing the meter itself (seeded, no sockets): a stream built to
 * leak (packet sizes track speech, as unpadded VBR does) and a padded one (one size, one packet per
 * tick, timing jitter independent of speech). The meter must score the first high and the second
 * at chance, or it proves nothing.
 */
import { isTalking, opusFrameBytes, type Intervals } from '../speech.js';
import type { Rng } from '../rng.js';
import type { TapTrace } from './tap.js';
import { RTP_HEADER_BYTES, SRTP_TAG_BYTES } from './unpadded.js';

export function syntheticTrace(rng: Rng, talk: Intervals, t0: number, durationMs: number, mode: 'leaky' | 'padded', tickMs = 20, jitterMs = 1.5): TapTrace {
  const n = Math.floor(durationMs / tickMs);
  const t = new Float64Array(2 * n);
  const size = new Uint16Array(2 * n);
  const up = new Uint8Array(2 * n);
  let k = 0;
  // A random phase against the window grid, so timing jitter moves packets across window edges.
  const phase = rng() * tickMs;
  for (let i = 0; i < n; i++) {
    const at = i * tickMs + phase;
    const talking = isTalking(talk, at);
    // Uplink: the participant's packet; downlink: the relay's cell to it.
    t[k] = t0 + at + rng() * jitterMs;
    size[k] = mode === 'leaky' ? RTP_HEADER_BYTES + opusFrameBytes(rng, talking) + SRTP_TAG_BYTES : 188;
    up[k++] = 1;
    t[k] = t0 + at + tickMs / 2 + rng() * jitterMs;
    size[k] = mode === 'leaky' ? RTP_HEADER_BYTES + opusFrameBytes(rng, rng() < 0.4) + SRTP_TAG_BYTES : 508;
    up[k++] = 0;
  }
  return { t, size, up, count: k, unrecorded: 0 };
}

/** Cumulative relay record counter samples every `periodMs`: with e2e padding one record per tick, without only while talking. */
export function syntheticRelayRecords(talk: Intervals, t0: number, durationMs: number, e2ePadding: boolean, tickMs = 20, periodMs = 20): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let records = 0;
  for (let at = 0; at <= durationMs; at += tickMs) {
    if (e2ePadding || isTalking(talk, at)) records++;
    if (at % periodMs === 0) out.push([t0 + at, records]);
  }
  return out;
}
