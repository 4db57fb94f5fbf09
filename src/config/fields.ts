/**
 * Typed config fields. Each field's `doc` is its documentation: `xrelay --help` and the README's
 * config table are generated from it. A field's path (`turn.port`) gives its JSON key in the config
 * file, its environment variable (`XRELAY_TURN_PORT`) and its flag (`--turn-port`).
 */
export type FieldKind = 'string' | 'int' | 'number' | 'bool' | 'intList' | 'stringList' | 'enum';

export interface Field<T> {
  readonly kind: FieldKind;
  readonly default: T;
  readonly doc: string;
  readonly min?: number;
  readonly max?: number;
  readonly choices?: readonly string[];
  /** Never echoed in errors or --print-config (secrets, keys). */
  readonly secret?: boolean;
}

export type Section = { readonly [key: string]: Field<unknown> };
export type Schema = { readonly [key: string]: Field<unknown> | Section };

type FieldValue<F> = F extends Field<infer T> ? T : never;
export type SectionValues<S extends Section> = { readonly [K in keyof S]: FieldValue<S[K]> };
export type SchemaValues<S extends Schema> = {
  readonly [K in keyof S]: S[K] extends Field<infer T> ? T : S[K] extends Section ? SectionValues<S[K]> : never;
};

interface Bounds {
  min?: number;
  max?: number;
}

export const field = {
  string: (doc: string, def: string, opts: { secret?: boolean } = {}): Field<string> => ({ kind: 'string', default: def, doc, ...opts }),
  int: (doc: string, def: number, b: Bounds = {}): Field<number> => ({ kind: 'int', default: def, doc, ...b }),
  number: (doc: string, def: number, b: Bounds = {}): Field<number> => ({ kind: 'number', default: def, doc, ...b }),
  bool: (doc: string, def: boolean): Field<boolean> => ({ kind: 'bool', default: def, doc }),
  intList: (doc: string, def: readonly number[], b: Bounds = {}): Field<readonly number[]> => ({ kind: 'intList', default: def, doc, ...b }),
  stringList: (doc: string, def: readonly string[]): Field<readonly string[]> => ({ kind: 'stringList', default: def, doc }),
  enum: <C extends string>(doc: string, def: C, choices: readonly C[]): Field<C> => ({ kind: 'enum', default: def, doc, choices }),
};

export function isField(x: Field<unknown> | Section): x is Field<unknown> {
  return typeof (x as Field<unknown>).kind === 'string' && 'doc' in x;
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

export function envName(path: readonly string[]): string {
  return 'XRELAY_' + path.map((p) => p.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase()).join('_');
}

export function flagName(path: readonly string[]): string {
  return '--' + path.map(kebab).join('-');
}

/**
 * The value placeholder `--help` shows after a flag (`--http-port <port>`), read off the field's kind
 * and name so the schema stays the one source; none for booleans, which take no value.
 */
export function valueName(path: readonly string[], f: Field<unknown>): string | undefined {
  const name = path[path.length - 1]!;
  switch (f.kind) {
    case 'bool':
      return undefined;
    case 'enum':
      return `<${f.choices!.join('|')}>`;
    case 'int':
    case 'number':
      if (/Port(Min|Max)?$/.test(name) || name === 'port') return '<port>';
      if (/PerSec$/.test(name)) return '<rate>';
      if (/Sec$/.test(name)) return '<seconds>';
      if (/Ms$/.test(name)) return '<ms>';
      if (/Bytes$/.test(name)) return '<bytes>';
      return '<n>';
    case 'intList':
      return /Buckets$/.test(name) ? '<bytes,...>' : '<n,...>';
    case 'stringList':
      if (/List$|^trustProxy$|Allow$/.test(name)) return '<cidr,...>';
      if (/Users$/.test(name)) return '<user:password,...>';
      if (name === 'profiles') return '<name:tickMs:upBytes:downBytes,...>';
      return '<item,...>';
    case 'string':
      if (/Dir$/.test(name)) return '<dir>';
      if (/Cert$|Key$/.test(name)) return '<file>';
      if (/Url$/.test(name)) return '<url>';
      if (/Secret$/.test(name)) return '<secret>';
      if (/(Host|Ip|^host)$/.test(name)) return '<address>';
      return '<text>';
  }
}

/** The candidate closest to a mistyped name (edit distance <= 2, or a case-only slip), for "did you mean". */
export function closestName(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDist = 3;
  for (const c of candidates) {
    const d = c.toLowerCase() === name.toLowerCase() ? 0 : editDistance(name, c);
    if (d < bestDist) [best, bestDist] = [c, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}
