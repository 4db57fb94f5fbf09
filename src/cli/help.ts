/** `xrelay --help`, generated from the config schema so every option is documented where it is defined. */
import { envName, flagName } from '../config/fields.js';
import { listFields } from '../config/load.js';

export function helpText(): string {
  const lines = [
    'xrelay: blind realtime call relay (envelope mailboxes, padded media cells, TURN)',
    '',
    'Usage:',
    '  xrelay serve [--config FILE] [options]   run the relay',
    '  xrelay print-config [--config FILE] [options]   print the effective config (secrets hidden) and exit',
    '  xrelay load --scenario NAME [...]        run a load scenario (see docs/LOADTEST.md; xrelay load --help)',
    '  xrelay config-docs                       print this reference as the README\'s Markdown tables',
    '  xrelay version | --help',
    '',
    'Every option below can be set in the JSON config file (nested key), as an environment variable,',
    'or as a flag; flags override the environment, which overrides the file. Lists are comma-separated',
    'in flags and environment variables. Booleans: --flag, --no-flag, --flag=false.',
    '',
    'Options:',
  ];
  for (const { path, field } of listFields()) {
    const def = Array.isArray(field.default) ? field.default.join(',') : String(field.default);
    const shown = field.secret ? '(secret)' : def === '' ? '(empty)' : def;
    const choices = field.choices ? ` {${field.choices.join('|')}}` : '';
    lines.push(`  ${flagName(path)}${choices}`, `      ${field.doc}`, `      env ${envName(path)}, file "${path.join('.')}", default ${shown}`);
  }
  return lines.join('\n') + '\n';
}
