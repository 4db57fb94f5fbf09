/**
 * Builds the frozen RelayConfig from defaults < config file < XRELAY_* environment < flags.
 * Every value is parsed and validated against its field; the first bad one raises a ConfigError
 * that names the field and the source it came from.
 */
import { readFileSync } from 'node:fs';
import { closestName, envName, flagName, isField, type Field, type Schema, type Section } from './fields.js';
import { ConfigError } from './config-error.js';
import { relaySchema, type RelayConfig } from './schema.js';
import { checkValues } from './validate.js';

export { ConfigError } from './config-error.js';
export { validateConfig } from './validate.js';

export interface ConfigSources {
  /** Parsed JSON of the config file, if any. */
  file?: unknown;
  /** Usually process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Flag name (without the leading dashes) to raw string value. */
  flags?: Readonly<Record<string, string>>;
}

interface FieldRef {
  path: string[];
  field: Field<unknown>;
}

export function listFields(schema: Schema = relaySchema): FieldRef[] {
  const out: FieldRef[] = [];
  for (const [key, entry] of Object.entries(schema)) {
    if (isField(entry)) out.push({ path: [key], field: entry });
    else for (const [sub, f] of Object.entries(entry as Section)) out.push({ path: [key, sub], field: f });
  }
  return out;
}

export function defaultConfig(): RelayConfig {
  return loadConfig({});
}

export function loadConfig(sources: ConfigSources): RelayConfig {
  const fileObj = sources.file ?? {};
  if (typeof fileObj !== 'object' || fileObj === null || Array.isArray(fileObj)) {
    throw new ConfigError('(file)', `the config file must hold a JSON object, got ${describeJson(fileObj)}`);
  }
  checkUnknownFileKeys(fileObj as Record<string, unknown>);
  const knownFlags = new Set(listFields().map((r) => flagName(r.path).slice(2)));
  for (const flag of Object.keys(sources.flags ?? {})) {
    if (!knownFlags.has(flag)) throw new ConfigError(`--${flag}`, `unknown option --${flag}${didYouMean(flag, [...knownFlags], '--')}`);
  }
  const out: Record<string, unknown> = {};
  for (const { path, field } of listFields()) {
    const dotted = path.join('.');
    let value: unknown = field.default;
    const fromFile = path.reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], fileObj);
    if (fromFile !== undefined) value = coerce(field, fromFile, `${dotted} (config file)`, dotted, true);
    const fromEnv = sources.env?.[envName(path)];
    if (fromEnv !== undefined && fromEnv !== '') value = coerce(field, fromEnv, `${dotted} (${envName(path)})`, dotted, false);
    const fromFlag = sources.flags?.[flagName(path).slice(2)];
    if (fromFlag !== undefined) value = coerce(field, fromFlag, `${dotted} (${flagName(path)})`, dotted, false);
    setPath(out, path, value);
  }
  const config = out as unknown as RelayConfig;
  checkValues(config); // the files are checked by validateConfig at start (startRelay)
  return deepFreeze(config);
}

function checkUnknownFileKeys(obj: Record<string, unknown>): void {
  for (const [key, val] of Object.entries(obj)) {
    const entry = (relaySchema as Schema)[key];
    if (entry === undefined) throw new ConfigError(key, `unknown config key "${key}"${didYouMean(key, Object.keys(relaySchema))}`);
    if (!isField(entry)) {
      if (typeof val !== 'object' || val === null || Array.isArray(val)) throw new ConfigError(key, `${key} (config file): expected an object of ${key} options, got ${describeJson(val)}`);
      for (const sub of Object.keys(val)) {
        if (!(sub in entry)) throw new ConfigError(`${key}.${sub}`, `unknown config key "${key}.${sub}"${didYouMean(sub, Object.keys(entry), key + '.')}`);
      }
    }
  }
}

function didYouMean(name: string, candidates: readonly string[], prefix = ''): string {
  const near = closestName(name, candidates);
  return near === undefined ? '' : ` (did you mean "${prefix}${near}"?)`;
}

/**
 * One raw value into the field's type. Environment variables and flags are text and are parsed;
 * a JSON config file has types of its own, so there the JSON type must match the field exactly:
 * `"httpPort": "7800"` is an error, not a port (a quoted number is most often a templating slip).
 */
function coerce(field: Field<unknown>, raw: unknown, where: string, name: string, fromJson: boolean): unknown {
  const shown = (v: unknown): string => (field.secret ? '(hidden)' : describeJson(v));
  const bad = (why: string): never => {
    throw new ConfigError(name, `${where}: ${why}`);
  };
  const num = (v: unknown, integer: boolean): number => {
    const kind = integer ? 'an integer' : 'a number';
    if (fromJson && typeof v !== 'number') bad(`expected ${kind} (a JSON number), got ${shown(v)}`);
    const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
    if (!Number.isFinite(n)) bad(`expected ${kind}, got ${shown(v)}`);
    if (integer && !Number.isInteger(n)) bad(`expected an integer, got ${n}`);
    if (field.min !== undefined && n < field.min) bad(`must be >= ${field.min}, got ${n}`);
    if (field.max !== undefined && n > field.max) bad(`must be <= ${field.max}, got ${n}`);
    return n;
  };
  const list = (v: unknown): unknown[] => {
    if (Array.isArray(v)) return v;
    if (fromJson || typeof v !== 'string') return bad(`expected a list (a JSON array), got ${shown(v)}`);
    return v.trim() === '' ? [] : v.split(',').map((s) => s.trim());
  };
  switch (field.kind) {
    case 'int':
      return num(raw, true);
    case 'number':
      return num(raw, false);
    case 'string':
      return typeof raw === 'string' ? raw : bad(`expected a string, got ${shown(raw)}`);
    case 'bool':
      if (typeof raw === 'boolean') return raw;
      if (fromJson) return bad(`expected true or false (a JSON boolean), got ${shown(raw)}`);
      if (raw === 'true' || raw === '1') return true;
      if (raw === 'false' || raw === '0') return false;
      return bad(`expected true or false, got ${shown(raw)}`);
    case 'enum':
      if (typeof raw === 'string' && field.choices!.includes(raw)) return raw;
      return bad(`expected one of ${field.choices!.join(', ')}, got ${shown(raw)}`);
    case 'intList':
      return list(raw).map((v) => num(v, true));
    case 'stringList':
      return list(raw).map((v) => (typeof v === 'string' ? v : bad(`expected a list of strings, got an item ${shown(v)}`)));
  }
}

/** A JSON value as an error message names it: its type, and the value when short. */
function describeJson(v: unknown): string {
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '...' : v)}`;
  if (typeof v === 'number') return `the number ${v}`;
  if (typeof v === 'boolean') return `the boolean ${v}`;
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return `a ${typeof v}`;
}

function setPath(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let cur = obj;
  for (const key of path.slice(0, -1)) cur = (cur[key] ??= {}) as Record<string, unknown>;
  cur[path[path.length - 1]!] = value;
}

function deepFreeze<T>(obj: T): T {
  if (typeof obj === 'object' && obj !== null) {
    for (const v of Object.values(obj)) deepFreeze(v);
    Object.freeze(obj);
  }
  return obj;
}

export function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError('--config', `cannot read config file ${path}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ConfigError('--config', `config file ${path} is not valid JSON: ${(err as Error).message}`);
  }
}
