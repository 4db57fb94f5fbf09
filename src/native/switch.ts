/**
 * The native switch, one for every plane with a native data path (media, TURN): `XRELAY_NATIVE=0|1`
 * (environment) overrides the plane's `dataPlane` config field; `auto` means native when the addon
 * loads, TypeScript otherwise; `native` asked for and unavailable is a start-up error (a relay must
 * not silently run slower than configured).
 */

export type DataPlaneChoice = 'auto' | 'native' | 'typescript';

type Env = Readonly<Record<string, string | undefined>>;

/** The choice after the environment: `XRELAY_NATIVE` wins over the configured field. */
export function chooseDataPlane(configured: DataPlaneChoice, env: Env = process.env): DataPlaneChoice {
  const v = env.XRELAY_NATIVE;
  if (v === '0' || v === 'false' || v === 'off') return 'typescript';
  if (v === '1' || v === 'true' || v === 'on') return 'native';
  return configured;
}

export interface NativeSelection<A> {
  /** The addon half to serve with; undefined means the TypeScript path. */
  readonly addon?: A;
  /** Why this path serves, for the start-up log line. */
  readonly why: string;
}

/**
 * Applies the switch for one plane. `field` names the config field (`media.dataPlane`), `plane`
 * the plane in the start-up error; `load` is called only when native may serve.
 */
export function selectNative<A>(
  plane: string,
  field: string,
  configured: DataPlaneChoice,
  load: () => { addon?: A; reason: string },
  env: Env = process.env,
): NativeSelection<A> {
  const choice = chooseDataPlane(configured, env);
  const via = env.XRELAY_NATIVE !== undefined && env.XRELAY_NATIVE !== '' ? `XRELAY_NATIVE=${env.XRELAY_NATIVE}` : `${field}=${configured}`;
  if (choice === 'typescript') return { why: via };
  const { addon, reason } = load();
  if (addon !== undefined) return { addon, why: via };
  if (choice === 'native') throw new Error(`${plane} data plane: native requested (${via}) but ${reason}`);
  return { why: `native unavailable: ${reason}` };
}
