/**
 * The relay's roster on the `xrelay` data channel (the rtc contract): JSON text
 *   {"type":"slots","epoch":N,"slots":[{"mid":"2","member":"<tag>","kind":"audio"}, ...]}
 * `member` is an opaque per-session tag the relay draws (8 random bytes, base64url). Parsing is
 * strict and never throws: anything else is undefined (the caller counts it).
 * Cluster mode, before the relay ends a session whose room moved to another node:
 *   {"type":"bye","reason":"room_moved"}
 */

export interface RtcSlot {
  mid: string;
  member: string;
  kind: 'audio' | 'video';
}

export interface RtcRoster {
  epoch: number;
  slots: RtcSlot[];
}

const TAG = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_SLOTS = 64;

export function parseRtcRoster(text: unknown): RtcRoster | undefined {
  if (typeof text !== 'string' || text.length > 16_384) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  const o = v as { type?: unknown; epoch?: unknown; slots?: unknown };
  if (o === null || typeof o !== 'object' || o.type !== 'slots' || !Number.isSafeInteger(o.epoch) || (o.epoch as number) < 0) return undefined;
  if (!Array.isArray(o.slots) || o.slots.length > MAX_SLOTS) return undefined;
  const slots: RtcSlot[] = [];
  for (const s of o.slots as Array<{ mid?: unknown; member?: unknown; kind?: unknown }>) {
    if (s === null || typeof s !== 'object' || typeof s.mid !== 'string' || s.mid.length === 0 || s.mid.length > 32) return undefined;
    if (typeof s.member !== 'string' || !TAG.test(s.member) || (s.kind !== 'audio' && s.kind !== 'video')) return undefined;
    slots.push({ mid: s.mid, member: s.member, kind: s.kind });
  }
  return { epoch: o.epoch as number, slots };
}

/** The relay's notice that this session's room now lives on another node (cluster mode): the session ends. */
export function isMovedNotice(text: unknown): boolean {
  if (typeof text !== 'string' || text.length > 256) return false;
  try {
    const o = JSON.parse(text) as { type?: unknown; reason?: unknown } | null;
    return o !== null && typeof o === 'object' && o.type === 'bye' && o.reason === 'room_moved';
  } catch {
    return false;
  }
}
