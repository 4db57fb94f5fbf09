/**
 * Whether a scenario's rooms fit full-rate end-to-end padding (docs/PROTOCOL.md §9.1), computed
 * with the SDK's own rule (src/client/call/e2e-padding-gate.ts) from the relay's profiles: the
 * default ones, or the scenario's `relayMedia.profiles`. A room of more than K members suspends
 * e2e padding, so a scenario that asks for it there would not do what it says.
 */
import { paddedRoomLimit } from '../client/call/e2e-padding-gate.js';
import { capacityOf, recordBytes } from '../client/call/sframe.js';
import { mediaOptions } from '../config/media-options.js';
import { maxRecordPayload } from '../media/codec/cell-layout.js';
import type { RoomGroup, Scenario } from './scenario.js';

/** Up and down body bytes of each profile (`name:tickMs:up:down`). */
export function profileBodies(profiles: readonly string[] = mediaOptions.profiles.default): Map<string, { up: number; down: number }> {
  const out = new Map<string, { up: number; down: number }>();
  for (const p of profiles) {
    const [name, , up, down] = p.split(':');
    out.set(name!, { up: Number(up), down: Number(down) });
  }
  return out;
}

/** K for a group: the largest room in which its members' e2e padding stays on. */
export function paddedLimitOf(g: RoomGroup, sc: Pick<Scenario, 'relayMedia'>): number {
  const profiles = sc.relayMedia?.profiles as readonly string[] | undefined;
  const body = profileBodies(profiles).get(g.profile);
  if (body === undefined) throw new Error(`no profile ${g.profile}`);
  const capacity = g.packetBytes ?? capacityOf(maxRecordPayload(body.up));
  return paddedRoomLimit(body.down, recordBytes(capacity));
}

/** Largest room size a group reaches: churn joins the fresh member while the leaving one is still in. */
export function peakRoomSize(g: RoomGroup): number {
  return g.participants + (g.churn !== undefined ? 1 : 0);
}
