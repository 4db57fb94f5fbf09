/**
 * Cadence profiles (docs/PROTOCOL.md §6): a tick and one fixed body size per direction. Every
 * session of a profile sends and receives exactly one cell per tick, of its direction's size.
 * Text form, as in the config: `name:tickMs:upBodyBytes:downBodyBytes`.
 * Pure: imports nothing of ours.
 */
import { RECORD_HEADER_BYTES, wireBytes } from './cell-layout.js';
import { rosterBytes } from './control-records.js';

export interface Profile {
  /** Index in the relay's profile list (stable for one relay run). */
  readonly id: number;
  readonly name: string;
  readonly tickMs: number;
  /** AEAD plaintext size of client → relay cells. */
  readonly upBytes: number;
  /** AEAD plaintext size of relay → client cells. */
  readonly downBytes: number;
}

export const DEFAULT_PROFILES: readonly string[] = ['audio:20:160:480', 'audio-room:20:160:1120', 'video:5:1200:1200'];

/** Smallest body: a count byte, a record header and a roster of a few slots. */
const MIN_BODY_BYTES = 64;
/** Largest body: the cell plus IPv6 and UDP headers stays within a 1500-byte MTU. */
const MAX_BODY_BYTES = 1400;

/** Parses profile specs; returns the profiles or a message naming the bad entry. */
export function parseProfiles(specs: readonly string[]): Profile[] | string {
  const out: Profile[] = [];
  for (const spec of specs) {
    const m = /^([a-z][a-z0-9-]{0,31}):(\d+):(\d+):(\d+)$/.exec(spec);
    if (m === null) return `profile "${spec}" is not name:tickMs:upBytes:downBytes`;
    const [, name, tick, up, down] = m as unknown as [string, string, string, string, string];
    const tickMs = Number(tick);
    const upBytes = Number(up);
    const downBytes = Number(down);
    if (tickMs < 1 || tickMs > 1000) return `profile "${name}": tickMs must be 1..1000`;
    for (const b of [upBytes, downBytes]) {
      if (b < MIN_BODY_BYTES || b > MAX_BODY_BYTES) return `profile "${name}": body sizes must be ${MIN_BODY_BYTES}..${MAX_BODY_BYTES}`;
    }
    if (out.some((p) => p.name === name)) return `profile "${name}" defined twice`;
    out.push({ id: out.length, name, tickMs, upBytes, downBytes });
  }
  if (out.length === 0) return 'at least one profile is needed';
  return out;
}

/** Smallest downlink body that carries a roster of `roomCap` slots: a count byte, a record header, the slots. */
export function minBodyForRoster(roomCap: number): number {
  return 1 + RECORD_HEADER_BYTES + rosterBytes(roomCap);
}

/** Wire bitrate of one direction in bits per second, counting IPv4 (20) and UDP (8) headers. */
export function wireBitrate(bodyBytes: number, tickMs: number, ipUdpOverhead = 28): number {
  return ((wireBytes(bodyBytes) + ipUdpOverhead) * 8 * 1000) / tickMs;
}

