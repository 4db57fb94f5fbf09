/**
 * Which data plane the media suite runs against: XRELAY_NATIVE=1 native, =0 TypeScript, unset:
 * native when the addon is built, else TypeScript. `npm run test:media:planes` runs the whole
 * suite once per plane; the harness fails a run whose relay is served by the other plane.
 */
import { chooseDataPlane } from '../../src/native/switch.js';
import { loadNativeAddon, type NativeAddon } from '../../src/native/addon.js';

export function testPlane(): 'native' | 'typescript' {
  const c = chooseDataPlane('auto');
  if (c !== 'auto') return c;
  return loadNativeAddon().addon !== undefined ? 'native' : 'typescript';
}

/** The addon; throws (failing the test) when the native plane is selected but not built. */
export function nativeAddon(): NativeAddon {
  const { addon, reason } = loadNativeAddon();
  if (addon === undefined) throw new Error(`native data plane selected but ${reason}`);
  return addon;
}

/** True when the addon is available (native-only tests skip otherwise, and say so). */
export const hasNative = loadNativeAddon().addon !== undefined;
