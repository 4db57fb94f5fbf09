/**
 * What a media data plane's core offers: the sans-IO contract of MediaCore (src/media/core), which
 * the TypeScript core and the native one (native/src/cell_core.cc, wrapped by NativeCellCore)
 * both implement with byte-identical output. Tests, the join route and load reports talk to this
 * interface only, so every media test runs unchanged against either core.
 */
import type { Profile } from '../codec/profiles.js';
import type { CoreStats, JoinError, JoinResult, SendBatch } from '../core/media-core.js';
import type { SessionStats } from '../core/session.js';

export interface CellCore {
  /** Relay-wide counters (a fresh snapshot on every read for the native core). */
  readonly stats: CoreStats;
  readonly sessionCount: number;
  readonly roomCount: number;
  profile(name: string): Profile | undefined;
  /** Admits a session (control plane). `rx`/`tx` are the relay's hop keys for it. */
  join(roomId: Uint8Array, profileName: string, rx: Uint8Array, tx: Uint8Array, nowMs: number): JoinResult | JoinError;
  /** One received cell: the accepting session's table index, or minus a DROP_* code. */
  receive(cell: Uint8Array, nowMs: number): number;
  /** Cells due at `nowMs` into `batch`; returns the next wake time (Infinity when idle). */
  poll(nowMs: number, batch: SendBatch): number;
  leave(index: number, batch: SendBatch): boolean;
  sessionStats(index: number): Readonly<SessionStats> | undefined;
  sessionId(index: number): number;
}
