/** `xrelay --help` (stdout) and the short usage (stderr), generated from the config schema so every option is documented where it is defined. */
import { envName, flagName, valueName } from '../config/fields.js';
import { listFields } from '../config/load.js';

const COMMAND_LINES = [
  '  serve          run the relay',
  '  print-config   print the effective config (secrets hidden) and exit',
  '  load           run a load scenario (xrelay load --help; docs/LOADTEST.md)',
  '  drain          make a running node take no new rooms while its calls finish [--relay <url>] [--off]',
  '  reconcile-usage  recount the Redis store\'s store-wide usage counter from every mailbox\'s (options as serve)',
  '  config-docs    print the config reference as the README\'s Markdown tables [--readme <file>]',
  '  version        print the version (also --version, -v, -V)',
  '  help           print this help (also --help, -h)',
];

/** What bare `xrelay` prints (to stderr, exit 2): enough to find the next step. */
export function usageText(): string {
  return ['Usage: xrelay <command> [options]', '', 'Commands:', ...COMMAND_LINES, '', 'Run "xrelay --help" for every option.', ''].join('\n');
}

const WIDTH = 100;

function wrap(text: string, indent: string): string[] {
  const lines: string[] = [];
  let line = indent;
  for (const word of text.split(/\s+/)) {
    if (line.length + word.length + 1 > WIDTH && line.trim() !== '') {
      lines.push(line.trimEnd());
      line = indent;
    }
    line += (line.trim() === '' ? '' : ' ') + word;
  }
  if (line.trim() !== '') lines.push(line.trimEnd());
  return lines;
}

export function helpText(): string {
  const lines = [
    'xrelay: blind realtime call relay (envelope mailboxes, padded media cells, TURN)',
    '',
    'Usage: xrelay <command> [options]',
    '',
    'Commands:',
    ...COMMAND_LINES,
    '',
    'Options of serve, print-config and reconcile-usage. Each can also be set in the JSON config file (nested key) or',
    'as an environment variable; flags override the environment, which overrides the file. Lists are',
    'comma-separated in flags and environment variables. Booleans: --flag, --no-flag, --flag=false.',
    '',
    '  -c, --config <file>    the JSON config file (re-read on SIGHUP)',
    '  -h, --help             this help',
    '  -v, -V, --version      the version',
  ];
  let section: string | undefined;
  for (const { path, field } of listFields()) {
    const name = path.length > 1 ? path[0]! : '';
    if (name !== section) {
      section = name;
      lines.push('', `${name === '' ? 'General' : name} options:`);
    }
    const def = Array.isArray(field.default) ? field.default.join(',') : String(field.default);
    const shown = field.secret ? '(secret)' : def === '' ? '(empty)' : def;
    const value = valueName(path, field);
    const flag = value === undefined ? `${flagName(path)}, --no-${flagName(path).slice(2)}` : `${flagName(path)} ${value}`;
    lines.push(`  ${flag}`, ...wrap(field.doc, '      '), `      default ${shown}; env ${envName(path)}; file "${path.join('.')}"`);
  }
  return lines.join('\n') + '\n';
}
