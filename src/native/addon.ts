/**
 * Loads the native addon (native/, N-API: one build for Node 20 and 24) shared by the media and
 * TURN data planes. Never throws: a missing or unloadable addon is reported as a reason string,
 * and the TypeScript data planes serve instead. `XRELAY_NATIVE_ADDON` may point at another build (the sanitizer build in CI).
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The addon's exports (native/src/addon.cc). Buffers, typed arrays and numbers only. */
export interface NativeAddon {
  readonly abiVersion: number;
  NativeCore: new (profiles: Float64Array, roomCap: number, maxSessions: number, queueRecords: number, queueMaxAgeMs: number, idleTimeoutMs: number) => NativeCoreHandle;
  parseBody(body: Uint8Array, out: Int32Array): number;
  sealCell(key: Uint8Array, session: number, counter: number, body: Uint8Array): Buffer;
  openCell(key: Uint8Array, cell: Uint8Array): Buffer | null;
  monotonicMs(): number;
  /** Bytes in use in the C heap (glibc mallinfo2), for memory reports. */
  mallocBytes(): number;
  /** NativeCore.stats()'s layout: the scalars' names in order, then closes and drops counts (media/dataplane/native-core.ts checks it). */
  readonly coreStatsLayout: { readonly scalars: readonly string[]; readonly closes: number; readonly drops: number };
}

export interface NativeCoreHandle {
  join(room: Uint8Array, profile: number, rx: Uint8Array, tx: Uint8Array, nowMs: number, random16: number, out: Float64Array): number;
  receive(cell: Uint8Array, nowMs: number): number;
  receiveExternal(cell: Uint8Array): number;
  poll(nowMs: number): number;
  batch(): [Buffer, Int32Array];
  leave(index: number): boolean;
  stats(out: Float64Array): void;
  sessionStats(index: number, out: Float64Array): boolean;
  sessionId(index: number): number;
  counts(): [number, number, number];
  forgetPath(index: number): void;
  /** `droppedCells`: WebSocket cells the thread dropped since the last call because JS had 32 batches not yet taken. */
  startIo(host: string, port: number, rcvbuf: number, sndbuf: number, onBatch: (cells: Buffer, meta: Int32Array, closed: Int32Array, droppedCells: number) => void): number;
  stopIo(): void;
}

/** 4: stats layouts exported by name (coreStatsLayout, turnStatsLayout). */
const ADDON_ABI = 4;
let cached: { addon?: NativeAddon; reason: string } | undefined;

function candidates(): string[] {
  const env = process.env.XRELAY_NATIVE_ADDON;
  if (env !== undefined && env !== '') return [env];
  // src/native (vitest, tsx) or dist/src/native (built): the package root is 2 or 3 up.
  return ['../../', '../../../'].map((up) => fileURLToPath(new URL(up + 'native/build/Release/xrelay_dataplane.node', import.meta.url)));
}

/** The addon, or the reason it is unavailable. Loaded once. */
export function loadNativeAddon(): { addon?: NativeAddon; reason: string } {
  cached ??= tryLoadAddon(candidates());
  return cached;
}

/** Tries `paths` in order (not cached: tests use it with paths that do not exist). */
export function tryLoadAddon(paths: readonly string[]): { addon?: NativeAddon; reason: string } {
  if (process.platform !== 'linux') return { reason: 'the native data plane is Linux-only' };
  const require = createRequire(import.meta.url);
  let reason = 'addon not built (npm run build:native)';
  for (const path of paths) {
    if (!existsSync(path)) continue;
    try {
      const addon = require(path) as NativeAddon;
      if (addon.abiVersion !== ADDON_ABI) {
        reason = `addon ABI ${addon.abiVersion} != ${ADDON_ABI} (rebuild it)`;
        continue;
      }
      return { addon, reason: 'loaded' };
    } catch (err) {
      reason = `addon failed to load: ${(err as Error).message.split('\n')[0]}`;
    }
  }
  return { reason };
}
