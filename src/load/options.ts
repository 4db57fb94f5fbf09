/**
 * The options of `xrelay load` / `npm run loadtest --`: one table that drives the parser
 * (node:util parseArgs, strict), the `--help` text and the table in docs/LOADTEST.md
 * (`node dist/src/load/options-docs.js docs/LOADTEST.md` rewrites it; a test checks it).
 * Every value is validated here; a bad one is a LoadArgError with a stable code (exit 2).
 */
import { parseArgs } from 'node:util';
import { parseDuration } from './scenario.js';
import { parseRelayList } from './relay-list.js';

/** Stable codes of argument errors (tests assert on these; messages may change). */
export type LoadArgCode = 'unknown_option' | 'missing_value' | 'bad_value' | 'unexpected_argument' | 'conflicting_options' | 'unknown_scenario' | 'bad_scenario';

export class LoadArgError extends Error {
  constructor(
    readonly code: LoadArgCode,
    message: string,
  ) {
    super(message);
    this.name = 'LoadArgError';
  }
}

export interface LoadArgs {
  scenario: string;
  duration?: number;
  out: string;
  /** One or more relay nodes (a cluster); the first is the one whose /metrics is sampled. */
  relay?: string[];
  relayUdp?: { host: string; port: number };
  inProcess: boolean;
  leak: boolean;
  /** Every room group's transport, overriding the scenario's. */
  transport?: 'udp' | 'ws' | 'auto' | 'rtc';
  seed?: number;
  workers: number;
  quiet: boolean;
  list: boolean;
  charts?: string;
  help: boolean;
}

interface OptionSpec {
  key: keyof LoadArgs;
  flag: string;
  short?: string;
  /** Value placeholder; none = a switch. */
  value?: string;
  /** Default as shown in help and docs. */
  def?: string;
  help: string;
  /** Turns the text into the value; throws a message (without the flag) when it is not valid. */
  parse?: (text: string) => unknown;
}

const bad = (why: string): never => {
  throw new Error(why);
};

function intIn(min: number, max: number): (t: string) => number {
  return (t) => {
    const v = /^\d+$/.test(t) ? Number(t) : NaN;
    return Number.isSafeInteger(v) && v >= min && v <= max ? v : bad(`must be an integer ${min}..${max}, got "${t}"`);
  };
}

/** The one table. Order = order in help and docs. */
export const LOAD_OPTIONS: readonly OptionSpec[] = [
  { key: 'scenario', flag: 'scenario', value: 'NAME|FILE', def: 'group-audio-8', help: 'a scenario of src/load/scenarios/ by name, or a path to a .json file of your own', parse: (t) => (t === '' ? bad('must name a scenario') : t) },
  {
    key: 'duration',
    flag: 'duration',
    value: 'DURATION',
    def: "the scenario's",
    help: 'measured phase: 1500ms, 20s, 2m or plain seconds; 1 s .. 1 h',
    parse: (t) => {
      const d = parseDuration(t);
      return d !== undefined && d >= 1000 && d <= 3_600_000 ? d : bad(`must be like 20s, 1500ms or 2m, 1 s .. 1 h, got "${t}"`);
    },
  },
  { key: 'out', flag: 'out', value: 'DIR', def: 'reports', help: 'report root; each run writes DIR/<scenario>-<time>/ (report.json, report.md, SVG charts)', parse: (t) => (t === '' ? bad('must be a folder') : t) },
  {
    key: 'relay',
    flag: 'relay',
    value: 'URL[,URL...]',
    help: 'load a running relay (http:// or https://) instead of spawning one; it must lift its join/post rate limits and let this address read /metrics. Several URLs (cluster nodes sharing a Redis): joins, readers and posts are spread over them, /metrics is read from the first',
    parse: (t) => {
      try {
        return parseRelayList(t);
      } catch (err) {
        return bad((err as Error).message);
      }
    },
  },
  {
    key: 'relayUdp',
    flag: 'relay-udp',
    value: 'HOST:PORT',
    help: "with --relay: the relay's cell port, so observer taps can reach it (no taps without it)",
    parse: (t) => {
      const m = /^(.+):(\d{1,5})$/.exec(t);
      const port = m === null ? NaN : Number(m[2]);
      return m !== null && port >= 1 && port <= 65535 ? { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port } : bad(`must be HOST:PORT with a port 1..65535, got "${t}"`);
    },
  },
  { key: 'inProcess', flag: 'in-process', help: 'host the relay in the load process (tests; CPU and RSS then include the clients)' },
  { key: 'leak', flag: 'leak', help: "add the leak meter's views to any audio scenario (taps every participant; one process)" },
  {
    key: 'transport',
    flag: 'transport',
    value: 'udp|ws|auto|rtc',
    def: "the scenario's",
    help: "every room group's transport: the SDK's cells over udp, ws or auto, or rtc: werift peers through the WebRTC edge (audio groups only; each frame sealed to the browser SDK's one size at 50 packets/s, so e2e padding is off: no dummies)",
    parse: (t) => (['udp', 'ws', 'auto', 'rtc'].includes(t) ? t : bad(`must be udp, ws, auto or rtc, got "${t}"`)),
  },
  { key: 'seed', flag: 'seed', value: 'N', def: "the scenario's", help: 'seed of talk schedules and frame sizes, 0..4294967295', parse: intIn(0, 0xffffffff) },
  { key: 'workers', flag: 'workers', value: 'N', def: '1', help: 'drive the clients from N processes, 1..16 (whole rooms each, reports merged; not with the leak meter)', parse: intIn(1, 16) },
  { key: 'quiet', flag: 'quiet', help: 'no live progress line' },
  { key: 'list', flag: 'list', help: 'list the scenarios with their descriptions and exit' },
  { key: 'charts', flag: 'charts', value: 'DIR', help: "redraw the SVG charts of an earlier run from DIR/report.json and exit (no load)", parse: (t) => (t === '' ? bad('must be a report folder') : t) },
  { key: 'help', flag: 'help', short: 'h', help: 'this help' },
];

const DEFAULTS: LoadArgs = { scenario: 'group-audio-8', out: 'reports', inProcess: false, leak: false, workers: 1, quiet: false, list: false, help: false };

/** Parses and validates `argv` (the arguments after `load`); throws LoadArgError. */
export function parseLoadArgs(argv: readonly string[]): LoadArgs {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const o of LOAD_OPTIONS) options[o.flag] = { type: o.value !== undefined ? 'string' : 'boolean', ...(o.short !== undefined ? { short: o.short } : {}) };
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values as Record<string, string | boolean | undefined>;
  } catch (err) {
    throw fromParseArgs(err as Error & { code?: string }, argv);
  }
  const out: LoadArgs = { ...DEFAULTS };
  const set = out as unknown as Record<string, unknown>;
  for (const o of LOAD_OPTIONS) {
    const v = values[o.flag];
    if (v === undefined) continue;
    if (typeof v === 'boolean') {
      set[o.key] = v;
      continue;
    }
    try {
      set[o.key] = o.parse !== undefined ? o.parse(v) : v;
    } catch (err) {
      throw new LoadArgError('bad_value', `--${o.flag} ${(err as Error).message}`);
    }
  }
  if (out.relayUdp !== undefined && out.relay === undefined) throw new LoadArgError('conflicting_options', '--relay-udp needs --relay (a spawned relay gives its own port)');
  if (out.inProcess && out.relay !== undefined) throw new LoadArgError('conflicting_options', '--in-process and --relay exclude each other');
  if (out.leak && out.workers > 1) throw new LoadArgError('conflicting_options', '--leak needs one process: drop --workers');
  return out;
}

function fromParseArgs(err: Error & { code?: string }, argv: readonly string[]): LoadArgError {
  const quoted = /'([^']+)'/.exec(err.message)?.[1];
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return new LoadArgError('unknown_option', `unknown option ${quoted ?? ''}`.trim());
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      // parseArgs says this both for a missing value and for a value given to a switch.
      const name = /--([a-z-]+)/.exec(err.message)?.[1];
      const spec = LOAD_OPTIONS.find((o) => o.flag === name);
      if (spec?.value === undefined && name !== undefined) return new LoadArgError('bad_value', `--${name} is a switch and takes no value`);
      return new LoadArgError('missing_value', `--${name ?? '?'} needs a value: ${spec?.value ?? ''}`.trim());
    }
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return new LoadArgError('unexpected_argument', `unexpected argument "${quoted ?? argv.find((a) => !a.startsWith('-')) ?? ''}" (options start with --)`);
    default:
      return new LoadArgError('bad_value', err.message);
  }
}

const signature = (o: OptionSpec): string => `${o.short !== undefined ? `-${o.short}, ` : ''}--${o.flag}${o.value !== undefined ? ` ${o.value}` : ''}`;

const HELP_COLUMNS = 100;

function wrap(text: string, cols: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const w of text.split(' ')) {
    if (line !== '' && line.length + 1 + w.length > cols) {
      out.push(line);
      line = w;
    } else line = line === '' ? w : `${line} ${w}`;
  }
  return [...out, line];
}

export const LOAD_USAGE = 'usage: xrelay load [options]   (or: npm run loadtest -- [options])';

/** `--help`: every option with its placeholder, default and meaning. */
export function loadHelpText(): string {
  const width = Math.max(...LOAD_OPTIONS.map((o) => signature(o).length)) + 2;
  const lines = [LOAD_USAGE, '', 'Runs a load scenario against a relay (spawned on 127.0.0.1 unless --relay) and writes', 'report.json, report.md and SVG charts. Details: docs/LOADTEST.md.', '', 'options:'];
  for (const o of LOAD_OPTIONS) {
    const text = `${o.help}${o.def !== undefined ? ` (default: ${o.def})` : ''}`;
    wrap(text, HELP_COLUMNS - width - 2).forEach((l, i) => lines.push(`  ${(i === 0 ? signature(o) : '').padEnd(width)}${l}`));
  }
  lines.push('', 'exit codes: 0 every consistency check of the report passed, 1 a check failed, 2 bad arguments', '');
  return lines.join('\n');
}

/** The options table of docs/LOADTEST.md. */
export function loadOptionsMarkdown(): string {
  const rows = LOAD_OPTIONS.map((o) => `| \`${signature(o).replace(/\|/g, '\\|')}\` | ${o.def === undefined ? '—' : o.def.includes(' ') ? o.def : `\`${o.def}\``} | ${o.help.replace(/\|/g, '\\|')} |`);
  return ['| option | default | meaning |', '|---|---|---|', ...rows].join('\n');
}

export const DOCS_START = '<!-- load-options:start (generated from src/load/options.ts) -->';
export const DOCS_END = '<!-- load-options:end -->';

/** `text` with the generated table between the markers (throws when they are missing). */
export function withOptionsTable(text: string): string {
  const a = text.indexOf(DOCS_START);
  const b = text.indexOf(DOCS_END);
  if (a === -1 || b < a) throw new Error('docs: load-options markers missing');
  return `${text.slice(0, a + DOCS_START.length)}\n${loadOptionsMarkdown()}\n${text.slice(b)}`;
}
