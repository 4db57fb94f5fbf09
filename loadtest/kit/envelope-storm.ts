/** Envelope storm (posts + reads): filled in once the envelope plane is committed. */
import type { EnvelopeStorm } from './scenario.js';

export async function runEnvelopeStorm(url: string, storm: EnvelopeStorm, durationMs: number): Promise<unknown> {
  void url;
  void durationMs;
  return { skipped: 'envelope storm not implemented yet', storm };
}
