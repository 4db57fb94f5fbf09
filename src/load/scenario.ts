/**
 * Scenario files (src/load/scenarios/*.json): what load to put on the relay. A scenario is one or
 * more groups of rooms run at the same time (a "mix" is simply several groups), plus an optional
 * envelope storm. Validated on load with a message naming the bad field.
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SpeechModel } from './speech.js';

export interface RoomGroup {
  /** Label in reports. */
  name: string;
  rooms: number;
  /** Participants per room. */
  participants: number;
  /** Relay cadence profile (audio, audio-room, video). */
  profile: string;
  /** What each participant sends: 20 ms Opus-like VBR audio following `speech`, or continuous VBR video. */
  media: 'audio' | 'video';
  /** Talk spurts and pauses (audio only); default ITU-T P.59. */
  speech?: SpeechModel;
  /** Video: mean bytes per frame, frames per second, keyframe interval in frames. */
  video?: { frameBytes: number; fps: number; gop: number };
  /** End-to-end padding: on, off, or alternate rooms (leak meter: both relay views in one run). */
  e2ePadding: boolean | 'alternate';
  /**
   * How participants reach the relay: the SDK's cells over `udp`, `ws` or `auto`, or `rtc`: werift
   * peers through the WebRTC edge (audio only; every frame sealed to the browser SDK's one size,
   * 50 packets/s in talk and silence, so `e2ePadding` must be false: there are no dummies).
   */
  transport?: 'udp' | 'ws' | 'auto' | 'rtc';
  /**
   * Largest media packet each client's records carry (the SDK's `packetBytes`; default: what one
   * uplink cell carries). Smaller packets make smaller records, so more fit a downlink cell and
   * a bigger room keeps e2e padding on (docs/PROTOCOL.md §9.1). Frames are clipped to it.
   */
  packetBytes?: number;
  /** Participants per room recorded by an observer tap (all of them in leak runs). */
  observe?: number;
  /** Join/leave churn: every `everyMs` one member of each room leaves and a fresh one joins. */
  churn?: { everyMs: number };
}

export interface EnvelopeStorm {
  /** Mailboxes that receive posts, each with one authenticated reader. */
  mailboxes: number;
  /** autocannon connections posting envelopes. */
  connections: number;
  /** Envelope size bucket (256, 1024, 4096, 16384, 65536). */
  bucketBytes: number;
  /** autocannon pipelining factor. */
  pipelining?: number;
  /** Cap on posts per second over all connections (autocannon overallRate); none = as fast as it goes. */
  ratePerSec?: number;
}

export interface Scenario {
  name: string;
  description: string;
  /** Default duration of the measured phase (override with --duration). */
  durationMs: number;
  seed: number;
  groups: RoomGroup[];
  envelopes?: EnvelopeStorm;
  /** Run the leak meter's three views (taps every participant). */
  leak?: boolean;
  /** Media section overrides for a spawned relay (profiles, roomCap, ...). */
  relayMedia?: Record<string, unknown>;
}

export const BUCKETS = [256, 1024, 4096, 16384, 65536];

/** The scenarios folder, beside the kit in the source tree (src/load/scenarios, also when running from dist/src/load). */
export function scenariosDir(): string {
  for (const rel of ['./scenarios', '../../../src/load/scenarios']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(dir)) return dir;
  }
  return fileURLToPath(new URL('./scenarios', import.meta.url));
}

export function listScenarios(): Array<{ name: string; description: string }> {
  return readdirSync(scenariosDir())
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const s = JSON.parse(readFileSync(join(scenariosDir(), f), 'utf8')) as Scenario;
      return { name: basename(f, '.json'), description: s.description };
    });
}

/** Loads a scenario by name (a file of src/load/scenarios) or by path. */
export function loadScenario(nameOrPath: string): Scenario {
  const path = nameOrPath.endsWith('.json') ? nameOrPath : join(scenariosDir(), `${nameOrPath}.json`);
  if (!existsSync(path)) throw new Error(`no scenario "${nameOrPath}" (try --list)`);
  return validateScenario(JSON.parse(readFileSync(path, 'utf8')) as unknown, basename(path, '.json'));
}

export function validateScenario(raw: unknown, fallbackName = 'scenario'): Scenario {
  const bad = (field: string, why: string): never => {
    throw new Error(`scenario ${fallbackName}: ${field} ${why}`);
  };
  if (typeof raw !== 'object' || raw === null) bad('(root)', 'must be an object');
  const s = raw as Partial<Scenario>;
  const int = (v: unknown, field: string, min: number, max: number): number => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) bad(field, `must be an integer in ${min}..${max}`);
    return v as number;
  };
  const groups = Array.isArray(s.groups) ? s.groups : bad('groups', 'must be a list');
  groups.forEach((g, i) => {
    const f = `groups[${i}]`;
    int(g.rooms, `${f}.rooms`, 1, 500);
    int(g.participants, `${f}.participants`, 1, 500);
    if (g.rooms * g.participants > 2000) bad(f, 'has more than 2000 participants (bounded runs)');
    if (typeof g.profile !== 'string') bad(`${f}.profile`, 'must be a profile name');
    if (g.media !== 'audio' && g.media !== 'video') bad(`${f}.media`, 'must be "audio" or "video"');
    if (g.e2ePadding !== true && g.e2ePadding !== false && g.e2ePadding !== 'alternate') bad(`${f}.e2ePadding`, 'must be true, false or "alternate"');
    if (g.churn !== undefined) int(g.churn.everyMs, `${f}.churn.everyMs`, 100, 600_000);
    if (g.observe !== undefined) int(g.observe, `${f}.observe`, 0, 500);
    if (g.packetBytes !== undefined) int(g.packetBytes, `${f}.packetBytes`, 24, 1400);
    if (g.transport !== undefined && !['udp', 'ws', 'auto', 'rtc'].includes(g.transport)) bad(`${f}.transport`, 'must be "udp", "ws", "auto" or "rtc"');
    if (g.transport === 'rtc') checkRtcGroup(g, f, bad);
  });
  if (s.envelopes !== undefined) {
    int(s.envelopes.mailboxes, 'envelopes.mailboxes', 1, 10_000);
    int(s.envelopes.connections, 'envelopes.connections', 1, 1000);
    if (!BUCKETS.includes(s.envelopes.bucketBytes)) bad('envelopes.bucketBytes', `must be one of ${BUCKETS.join('/')}`);
  }
  return {
    name: typeof s.name === 'string' ? s.name : fallbackName,
    description: typeof s.description === 'string' ? s.description : '',
    durationMs: int(s.durationMs ?? 20_000, 'durationMs', 1000, 3_600_000),
    seed: int(s.seed ?? 1, 'seed', 0, 0xffffffff),
    groups,
    ...(s.envelopes !== undefined ? { envelopes: s.envelopes } : {}),
    ...(s.leak !== undefined ? { leak: s.leak } : {}),
    ...(s.relayMedia !== undefined ? { relayMedia: s.relayMedia } : {}),
  };
}

/** WebRTC groups: audio rooms the edge can hold (its roomCap is at most 64), no dummies, no churn yet. */
export function checkRtcGroup(g: RoomGroup, f: string, bad: (field: string, why: string) => never): void {
  if (g.media !== 'audio') bad(`${f}.media`, 'must be "audio" with transport "rtc" (the kit\'s WebRTC participants send audio)');
  if (g.e2ePadding !== false) bad(`${f}.e2ePadding`, 'must be false with transport "rtc" (every WebRTC frame is sealed to one size and sent: no dummies)');
  if (g.participants < 2 || g.participants > 64) bad(`${f}.participants`, 'must be 2..64 with transport "rtc" (rtc.roomCap)');
  if (g.churn !== undefined) bad(`${f}.churn`, 'is not supported with transport "rtc" yet');
}

/** Parses "20s", "1500ms", "2m" or a plain number of seconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (m === null) return undefined;
  const v = Number(m[1]);
  return m[2] === 'ms' ? v : m[2] === 'm' ? v * 60_000 : v * 1000;
}
