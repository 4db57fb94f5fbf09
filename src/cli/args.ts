/** Command-line parsing for `xrelay`: `--name value`, `--name=value`, `--flag`, `--no-flag`. */
import { ConfigError, listFields } from '../config/load.js';
import { flagName } from '../config/fields.js';

export interface ParsedArgs {
  command: string | undefined;
  flags: Record<string, string>;
  configFile: string | undefined;
  help: boolean;
  rest: string[];
}

const boolFlags = new Set(listFields().filter((r) => r.field.kind === 'bool').map((r) => flagName(r.path).slice(2)));

export function parseArgs(argv: readonly string[]): ParsedArgs {
  const out: ParsedArgs = { command: undefined, flags: {}, configFile: undefined, help: false, rest: [] };
  let i = 0;
  if (argv[0] !== undefined && !argv[0].startsWith('-')) out.command = argv[i++];
  if (out.command === 'load') {
    out.rest = argv.slice(i);
    return out;
  }
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      out.help = true;
      continue;
    }
    if (!arg.startsWith('--')) throw new ConfigError(arg, `unexpected argument "${arg}" (see xrelay --help)`);
    const eq = arg.indexOf('=');
    let name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    let value: string | undefined = eq === -1 ? undefined : arg.slice(eq + 1);
    if (value === undefined && name.startsWith('no-') && boolFlags.has(name.slice(3))) {
      name = name.slice(3);
      value = 'false';
    }
    if (value === undefined && boolFlags.has(name)) value = argv[i + 1] === 'true' || argv[i + 1] === 'false' ? argv[++i]! : 'true';
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new ConfigError(`--${name}`, `option --${name} needs a value`);
      value = argv[++i]!;
    }
    if (name === 'config') out.configFile = value;
    else out.flags[name] = value;
  }
  return out;
}
