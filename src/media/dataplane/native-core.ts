/**
 * The native sans-IO core (native/src/cell_core.cc) behind the CellCore interface. Used two ways:
 * driven from JS with injected time (tests, the differential test), and as the control-plane
 * handle of the native data plane, whose own thread then drives receive/poll on the native clock.
 *
 * Boundary crossings are batch-shaped: poll() returns all of a tick's cells in one buffer plus an
 * Int32Array of (index, offset, length); stats come back in one Float64Array.
 */
import type { Profile } from '../codec/profiles.js';
import { loadNativeAddon, type NativeAddon, type NativeCoreHandle } from '../../native/addon.js';
import { layoutIndex, layoutMismatch } from '../../native/layout.js';
import { CLOSE_REASONS, CoreStats, DROP_THROTTLED, JOIN_ERRORS, SendBatch, type CoreOptions, type JoinError, type JoinResult } from '../core/media-core.js';
import type { SessionStats } from '../core/session.js';
import type { CellCore } from './cell-core.js';

const JOIN_ERROR_OF = new Map<number, JoinError>(Object.entries(JOIN_ERRORS).map(([name, code]) => [code, name as JoinError]));

/**
 * The scalars of NativeCore.stats(), in order (native/src/addon.cc, XR_CORE_STATS: the same names;
 * test/native/layouts.test.ts compares, loadMediaAddon checks the addon's). closes[] (one per
 * CLOSE_REASONS) and drops[] (one per DROP_REASONS but the TypeScript plane's `throttled`) follow.
 */
export const CORE_STATS = [
  'cellsIn', 'cellsOut', 'dummyCellsOut', 'recordsIn', 'recordsOut', 'queueDrops', 'staleDrops', 'missedTicks',
  'joins', 'roams', 'unroutable', 'sendErrors', 'sendWaits', 'recvBatches', 'sendBatches', 'kernelDrops', 'sendWouldBlock',
] as const;
const at = layoutIndex(CORE_STATS);
const CLOSES = CLOSE_REASONS.length;
/** The native core never throttles (that is the TypeScript plane's flood guard): its drops stop before it. */
const DROPS = DROP_THROTTLED;
const NATIVE_STATS_LEN = CORE_STATS.length + CLOSES + DROPS;

/** The addon, with its stats layout checked against CORE_STATS (a mismatch is a reason, as a missing addon). */
export function loadMediaAddon(load: () => { addon?: NativeAddon; reason: string } = loadNativeAddon): { addon?: NativeAddon; reason: string } {
  const { addon, reason } = load();
  if (addon === undefined) return { reason };
  const l = addon.coreStatsLayout as Partial<NativeAddon['coreStatsLayout']> | undefined;
  const bad = layoutMismatch('media core stats', l?.scalars, CORE_STATS) ?? (l!.closes !== CLOSES || l!.drops !== DROPS ? `addon media core stats have ${l!.closes} closes and ${l!.drops} drops, this build expects ${CLOSES} and ${DROPS} (rebuild it: npm run build:native)` : undefined);
  return bad === undefined ? { addon, reason } : { reason: bad };
}

/** I/O shell counters the native data plane keeps beside the core's. */
export interface NativeIoStats {
  roams: number;
  unroutable: number;
  /** Cells dropped at send, for any reason (per-datagram socket errors and sendWouldBlock). */
  sendErrors: number;
  /** Times a sendmmsg found the send buffer full and waited (up to 2 ms) for room. */
  sendWaits: number;
  /** Of sendErrors, cells dropped because the send buffer stayed full past the waits. */
  sendWouldBlock: number;
  recvBatches: number;
  sendBatches: number;
  /** Overload: cells the kernel dropped at the socket's full receive queue (shed before any work). */
  kernelDrops: number;
}

export class NativeCellCore implements CellCore {
  readonly handle: NativeCoreHandle;
  private readonly joinOut = new Float64Array(4);
  private readonly statsBuf = new Float64Array(NATIVE_STATS_LEN);
  private readonly sessionBuf = new Float64Array(6);
  /** Drawn once and kept until a join succeeds, so the random sequence matches MediaCore's exactly. */
  private nextRandom: number | undefined;

  constructor(
    addon: NativeAddon,
    readonly opts: CoreOptions,
  ) {
    const p = new Float64Array(opts.profiles.length * 3);
    opts.profiles.forEach((pr, i) => p.set([pr.tickMs, pr.upBytes, pr.downBytes], i * 3));
    this.handle = new addon.NativeCore(p, opts.roomCap, opts.maxSessions, opts.queueRecords, opts.queueMaxAgeMs, opts.idleTimeoutMs);
  }

  get stats(): CoreStats {
    const b = this.statsBuf;
    this.handle.stats(b);
    const s = new CoreStats();
    s.cellsIn = b[at.cellsIn]!;
    s.cellsOut = b[at.cellsOut]!;
    s.dummyCellsOut = b[at.dummyCellsOut]!;
    s.recordsIn = b[at.recordsIn]!;
    s.recordsOut = b[at.recordsOut]!;
    s.queueDrops = b[at.queueDrops]!;
    s.staleDrops = b[at.staleDrops]!;
    s.missedTicks = b[at.missedTicks]!;
    s.joins = b[at.joins]!;
    s.closes.set(b.subarray(CORE_STATS.length, CORE_STATS.length + CLOSES));
    s.drops.set(b.subarray(CORE_STATS.length + CLOSES));
    return s;
  }

  ioStats(): NativeIoStats {
    const b = this.statsBuf;
    this.handle.stats(b);
    return {
      roams: b[at.roams]!,
      unroutable: b[at.unroutable]!,
      sendErrors: b[at.sendErrors]!,
      sendWaits: b[at.sendWaits]!,
      recvBatches: b[at.recvBatches]!,
      sendBatches: b[at.sendBatches]!,
      kernelDrops: b[at.kernelDrops]!,
      sendWouldBlock: b[at.sendWouldBlock]!,
    };
  }

  get sessionCount(): number {
    return this.handle.counts()[0];
  }

  get roomCount(): number {
    return this.handle.counts()[1];
  }

  /** Bytes of native state per live session (struct and queue ring, without shared body blocks). */
  get sessionFootprint(): number {
    return this.handle.counts()[2];
  }

  profile(name: string): Profile | undefined {
    return this.opts.profiles.find((p) => p.name === name);
  }

  /** `nowMs` NaN means the native clock (the native data plane's I/O mode). */
  join(roomId: Uint8Array, profileName: string, rx: Uint8Array, tx: Uint8Array, nowMs: number): JoinResult | JoinError {
    const profile = this.profile(profileName);
    if (profile === undefined) return 'unknown_profile';
    if (roomId.length !== 32 || rx.length !== 32 || tx.length !== 32) throw new RangeError('room id and keys must be 32 bytes');
    this.nextRandom ??= this.opts.random16();
    const code = this.handle.join(roomId, profile.id, rx, tx, nowMs, this.nextRandom & 0xffff, this.joinOut);
    if (code !== 0) return JOIN_ERROR_OF.get(code) ?? 'too_many_sessions';
    this.nextRandom = undefined;
    const o = this.joinOut;
    return { session: o[0]!, index: o[1]!, slot: o[2]!, epoch: o[3]!, profile };
  }

  receive(cell: Uint8Array, nowMs: number): number {
    return this.handle.receive(cell, nowMs);
  }

  poll(nowMs: number, batch: SendBatch): number {
    const wake = this.handle.poll(nowMs);
    const [cells, meta] = this.handle.batch();
    const n = meta[0]!;
    const closed = meta[1]!;
    for (let i = 0; i < n; i++) {
      const off = meta[3 + 3 * i]!;
      batch.push(meta[2 + 3 * i]!, cells.subarray(off, off + meta[4 + 3 * i]!));
    }
    const base = 2 + 3 * n;
    for (let i = 0; i < closed; i++) batch.pushClosed(meta[base + 2 * i]!, meta[base + 2 * i + 1]!);
    return wake;
  }

  leave(index: number, batch: SendBatch): boolean {
    if (!this.handle.leave(index)) return false;
    batch.pushClosed(index, 1);
    return true;
  }

  sessionStats(index: number): Readonly<SessionStats> | undefined {
    const b = this.sessionBuf;
    if (!this.handle.sessionStats(index, b)) return undefined;
    return { cellsIn: b[0]!, cellsOut: b[1]!, dummyCellsOut: b[2]!, recordsIn: b[3]!, recordsOut: b[4]!, queueDrops: b[5]! };
  }

  sessionId(index: number): number {
    return this.handle.sessionId(index);
  }
}

export { SendBatch };
