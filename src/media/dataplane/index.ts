/**
 * Starts the data plane the config and environment ask for (see chooseDataPlane), falling back to
 * the TypeScript one when the addon is unavailable in `auto` mode. `native` explicitly asked for
 * and unavailable is a start-up error: a relay must not silently run slower than configured.
 */
import { chooseDataPlane, type DataPlane, type DataPlaneChoice, type DataPlaneOptions } from './data-plane.js';
import { loadNativeAddon } from './native-addon.js';
import { startNativeDataPlane } from './native-data-plane.js';
import { startTsDataPlane } from './ts-data-plane.js';

export type { CellCore } from './cell-core.js';
export * from './data-plane.js';
export { loadNativeAddon } from './native-addon.js';
export { NativeCellCore } from './native-core.js';

export interface StartedDataPlane {
  plane: DataPlane;
  /** Why this one serves (for the start-up log line). */
  why: string;
}

export async function startDataPlane(configured: DataPlaneChoice, opts: DataPlaneOptions, env: Readonly<Record<string, string | undefined>> = process.env): Promise<StartedDataPlane> {
  const choice = chooseDataPlane(configured, env);
  const via = env.XRELAY_NATIVE !== undefined && env.XRELAY_NATIVE !== '' ? `XRELAY_NATIVE=${env.XRELAY_NATIVE}` : `media.dataPlane=${configured}`;
  if (choice === 'typescript') return { plane: await startTsDataPlane(opts), why: via };
  const { addon, reason } = loadNativeAddon();
  if (addon === undefined) {
    if (choice === 'native') throw new Error(`media data plane: native requested (${via}) but ${reason}`);
    return { plane: await startTsDataPlane(opts), why: `native unavailable: ${reason}` };
  }
  return { plane: startNativeDataPlane(addon, opts), why: via };
}
