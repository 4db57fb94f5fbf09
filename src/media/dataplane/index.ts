/**
 * Starts the data plane the config and environment ask for (the native switch, src/native/switch.ts), falling back to
 * the TypeScript one when the addon is unavailable in `auto` mode. `native` explicitly asked for
 * and unavailable is a start-up error: a relay must not silently run slower than configured.
 */
import { selectNative, type DataPlaneChoice } from '../../native/switch.js';
import type { DataPlane, DataPlaneOptions } from './data-plane.js';
import { loadMediaAddon } from './native-core.js';
import { startNativeDataPlane } from './native-data-plane.js';
import { startTsDataPlane } from './ts-data-plane.js';

export type { CellCore } from './cell-core.js';
export * from './data-plane.js';
export { loadMediaAddon, NativeCellCore } from './native-core.js';

export interface StartedDataPlane {
  plane: DataPlane;
  /** Why this one serves (for the start-up log line). */
  why: string;
}

export async function startDataPlane(configured: DataPlaneChoice, opts: DataPlaneOptions, env: Readonly<Record<string, string | undefined>> = process.env): Promise<StartedDataPlane> {
  const { addon, why } = selectNative('media', 'media.dataPlane', configured, loadMediaAddon, env);
  if (addon === undefined) return { plane: await startTsDataPlane(opts), why };
  return { plane: startNativeDataPlane(addon, opts), why };
}
