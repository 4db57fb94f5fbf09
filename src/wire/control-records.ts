/**
 * Control records (slot = CONTROL_SLOT), docs/PROTOCOL.md §5. They ride inside cells like media,
 * so a network observer cannot tell them apart from media or padding.
 *
 *   roster (relay → client): | 0x01 | epoch u32BE | your slot u16BE | n u16BE | n × slot u16BE |
 *   leave  (client → relay): | 0x02 |
 *
 * The epoch grows by one at every join or leave in the room; clients use it to re-key.
 * Pure: imports nothing of ours.
 */
export const CONTROL_ROSTER = 0x01;
export const CONTROL_LEAVE = 0x02;
export const ROSTER_FIXED_BYTES = 9;

export interface Roster {
  epoch: number;
  yourSlot: number;
  slots: number[];
}

/** Bytes of a roster listing `n` slots. */
export function rosterBytes(n: number): number {
  return ROSTER_FIXED_BYTES + 2 * n;
}

/** Writes a roster into `out` at 0; returns its length. `slots` holds `n` valid entries. */
export function writeRoster(out: Uint8Array, epoch: number, yourSlot: number, slots: ArrayLike<number>, n: number): number {
  out[0] = CONTROL_ROSTER;
  out[1] = (epoch >>> 24) & 0xff;
  out[2] = (epoch >>> 16) & 0xff;
  out[3] = (epoch >>> 8) & 0xff;
  out[4] = epoch & 0xff;
  out[5] = yourSlot >>> 8;
  out[6] = yourSlot & 0xff;
  out[7] = n >>> 8;
  out[8] = n & 0xff;
  for (let i = 0; i < n; i++) {
    out[ROSTER_FIXED_BYTES + 2 * i] = slots[i]! >>> 8;
    out[ROSTER_FIXED_BYTES + 2 * i + 1] = slots[i]! & 0xff;
  }
  return rosterBytes(n);
}

/** Parses a roster record; undefined if malformed. Control plane only (allocates). */
export function parseRoster(rec: Uint8Array): Roster | undefined {
  if (rec.length < ROSTER_FIXED_BYTES || rec[0] !== CONTROL_ROSTER) return undefined;
  const n = (rec[7]! << 8) | rec[8]!;
  if (rec.length !== rosterBytes(n)) return undefined;
  const epoch = ((rec[1]! << 24) | (rec[2]! << 16) | (rec[3]! << 8) | rec[4]!) >>> 0;
  const yourSlot = (rec[5]! << 8) | rec[6]!;
  const slots: number[] = [];
  for (let i = 0; i < n; i++) slots.push((rec[ROSTER_FIXED_BYTES + 2 * i]! << 8) | rec[ROSTER_FIXED_BYTES + 2 * i + 1]!);
  return { epoch, yourSlot, slots };
}
