/**
 * Command-line parsing for `xrelay`, on `node:util` `parseArgs` (its tokenizer handles `--name value`,
 * `--name=value`, `--no-name`, `-h`, and `--` the standard way); the checks on its tokens are ours so
 * that each mistake gets one clear message: an unknown option (with the nearest real one), an option
 * missing its value (with its placeholder), an unknown command, a stray argument. The options of
 * `serve` and `print-config` come from the config schema, as do their placeholders.
 *
 * `xrelay load ...` hands every argument after `load` to the load kit unchanged; `xrelay drain ...`
 * its arguments to src/cli/drain.ts.
 */
import { parseArgs as parseTokens } from 'node:util';
import { closestName, flagName, valueName } from '../config/fields.js';
import { listFields } from '../config/load.js';

const COMMANDS = ['serve', 'print-config', 'load', 'drain', 'reconcile-usage', 'config-docs', 'version', 'help'] as const;
export type Command = (typeof COMMANDS)[number];

export interface ParsedArgs {
  /** `usage`: no command given (bare `xrelay`). */
  action: 'run' | 'help' | 'version' | 'usage';
  command: Command | undefined;
  /** Schema flags (name without dashes) to raw string values; booleans as "true"/"false". */
  flags: Record<string, string>;
  configFile: string | undefined;
  /** `config-docs --readme FILE`. */
  readme: string | undefined;
  /** `load`, `drain`: the arguments after it, untouched. */
  rest: string[];
}

export type UsageErrorCode = 'unknown_option' | 'missing_value' | 'unexpected_value' | 'unknown_command' | 'unexpected_argument';

/** A mistake on the command line: exit 2, message on stderr. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    readonly code: UsageErrorCode,
    message: string,
  ) {
    super(message);
  }
}

interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** Shown in messages and help: `<file>`. */
  value?: string;
}

const GLOBAL: Record<string, OptionSpec> = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
  V: { type: 'boolean' }, // -V too, as coturn and many tools spell it
};

function schemaOptions(): Record<string, OptionSpec> {
  const out: Record<string, OptionSpec> = { config: { type: 'string', short: 'c', value: '<file>' } };
  for (const { path, field } of listFields()) {
    const value = valueName(path, field);
    out[flagName(path).slice(2)] = value === undefined ? { type: 'boolean' } : { type: 'string', value };
  }
  return out;
}

function optionsOf(command: Command): Record<string, OptionSpec> {
  switch (command) {
    case 'serve':
    case 'print-config':
    case 'reconcile-usage':
      return { ...GLOBAL, ...schemaOptions() };
    case 'config-docs':
      return { ...GLOBAL, readme: { type: 'string', value: '<file>' } };
    default:
      return GLOBAL;
  }
}

export function parseArgs(argv: readonly string[]): ParsedArgs {
  const out: ParsedArgs = { action: 'run', command: undefined, flags: {}, configFile: undefined, readme: undefined, rest: [] };
  const first = argv[0];
  if (first === undefined) return { ...out, action: 'usage' };
  let args = argv;
  if (!first.startsWith('-')) {
    if (!(COMMANDS as readonly string[]).includes(first)) {
      const near = closestName(first, COMMANDS);
      throw new UsageError('unknown_command', `unknown command "${first}"${near ? ` (did you mean "${near}"?)` : ''}; commands: ${COMMANDS.join(', ')}`);
    }
    out.command = first as Command;
    if (out.command === 'load' || out.command === 'drain') return { ...out, rest: argv.slice(1) };
    args = argv.slice(1);
  }
  const specs = optionsOf(out.command ?? 'help');
  try {
    readTokens(args, specs, out);
  } catch (err) {
    // `xrelay --http-port 1`: options with no command before them.
    if (out.command !== undefined || !(err instanceof UsageError) || err.code !== 'unknown_option') throw err;
    throw new UsageError('unknown_command', `no command given before ${args[0]}; commands: ${COMMANDS.join(', ')} (e.g. xrelay serve ${args[0]} ...)`);
  }
  if (out.command === 'help') out.action = 'help';
  if (out.command === 'version') out.action = 'version';
  if (out.command === undefined && out.action === 'run') {
    // Only options, no command: `xrelay --http-port 1`.
    throw new UsageError('unknown_command', `no command given before ${args[0]}; commands: ${COMMANDS.join(', ')}`);
  }
  return out;
}

function readTokens(args: readonly string[], specs: Record<string, OptionSpec>, out: ParsedArgs): void {
  const options = Object.fromEntries(Object.entries(specs).map(([name, s]) => [name, { type: s.type, ...(s.short ? { short: s.short } : {}) }]));
  const { tokens } = parseTokens({ args: [...args], options, strict: false, allowPositionals: true, allowNegative: true, tokens: true });
  for (const t of tokens) {
    if (t.kind === 'option-terminator') continue;
    if (t.kind === 'positional') {
      if (out.command === 'help') continue; // `xrelay help serve`: there is one help
      throw new UsageError('unexpected_argument', `unexpected argument "${t.value}"${out.command ? ` after "${out.command}"` : ''}`);
    }
    const spec = specs[t.name];
    if (spec === undefined) {
      const near = t.rawName.startsWith('--') ? closestName(t.name, Object.keys(specs)) : undefined;
      throw new UsageError('unknown_option', `unknown option ${t.rawName}${near ? ` (did you mean --${near}?)` : ''}`);
    }
    if (spec.type === 'boolean') {
      readBoolean(t.name, t.rawName, t.value, out);
      continue;
    }
    // parseArgs takes the next argument as the value even when it is another option; a value that
    // looks like an option is a forgotten value (`--http-port --data-dir x`). `--name=-x` still works.
    if (t.value === undefined || (!t.inlineValue && t.value.startsWith('-'))) {
      throw new UsageError('missing_value', `option --${t.name} needs a value: --${t.name} ${spec.value ?? '<value>'}`);
    }
    if (t.name === 'config') out.configFile = t.value;
    else if (t.name === 'readme') out.readme = t.value;
    else out.flags[t.name] = t.value;
  }
}

function readBoolean(name: string, rawName: string, value: string | undefined, out: ParsedArgs): void {
  const negated = rawName.startsWith('--no-');
  if (name === 'help' || name === 'version' || name === 'V') {
    if (value !== undefined || negated) throw new UsageError('unexpected_value', `option ${rawName} takes no value`);
    // --help wins over --version wherever they appear.
    if (name === 'help') out.action = 'help';
    else if (out.action !== 'help') out.action = 'version';
    return;
  }
  if (value === undefined) {
    out.flags[name] = negated ? 'false' : 'true';
    return;
  }
  // `--flag=true|false` is accepted too (documented); any other value is a mistake.
  if (negated || (value !== 'true' && value !== 'false')) {
    throw new UsageError('unexpected_value', `option ${negated ? rawName : `--${name}`} takes no value other than =true or =false, got "${value}"`);
  }
  out.flags[name] = value;
}
