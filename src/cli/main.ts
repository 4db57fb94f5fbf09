#!/usr/bin/env node
/** The `xrelay` command line. */
import { readFileSync, writeFileSync } from 'node:fs';
import { ConfigError, listFields, loadConfig, readConfigFile } from '../config/load.js';
import type { RelayConfig } from '../config/schema.js';
import { RelayError } from '../errors.js';
import { parseArgs, UsageError } from './args.js';
import { configReferenceMarkdown, withConfigReference } from './config-docs.js';
import { helpText, usageText } from './help.js';
import { serve } from './serve.js';

async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  switch (args.action) {
    case 'usage':
      process.stderr.write(usageText());
      return 2;
    case 'help':
      process.stdout.write(helpText());
      return 0;
    case 'version':
      process.stdout.write(`xrelay ${packageVersion()}\n`);
      return 0;
  }
  if (args.command === 'load') {
    // Loaded only for `xrelay load`: the kit is a client of the relay (it imports the SDK), and
    // `xrelay serve` must not load it.
    const { runLoadCommand } = await import('../load/cli.js');
    return runLoadCommand(args.rest);
  }
  if (args.command === 'drain') {
    const { runDrainCommand } = await import('./drain.js');
    return runDrainCommand(args.rest);
  }
  if (args.command === 'config-docs') {
    // `xrelay config-docs --readme README.md` rewrites the README's reference in place.
    if (args.readme === undefined) process.stdout.write(configReferenceMarkdown());
    else writeFileSync(args.readme, withConfigReference(readFileSync(args.readme, 'utf8')));
    return 0;
  }
  // Read again, file included, on SIGHUP.
  const readConfig = (): RelayConfig =>
    loadConfig({
      ...(args.configFile !== undefined ? { file: readConfigFile(args.configFile) } : {}),
      env: process.env,
      flags: args.flags,
    });
  const config = readConfig();
  if (args.command === 'print-config') {
    process.stdout.write(JSON.stringify(hideSecrets(config), null, 2) + '\n');
    return 0;
  }
  if (args.command === 'reconcile-usage') {
    const { runReconcileUsage } = await import('./reconcile-usage.js');
    return runReconcileUsage(config, (line) => process.stdout.write(line + '\n'), (msg) => process.stderr.write(`xrelay: ${msg}\n`));
  }
  return serve(config, readConfig);
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function hideSecrets(config: RelayConfig): unknown {
  const copy = JSON.parse(JSON.stringify(config)) as Record<string, Record<string, unknown>>;
  for (const { path, field } of listFields()) {
    if (!field.secret) continue;
    const holder = path.length === 1 ? (copy as Record<string, unknown>) : copy[path[0]!]!;
    const key = path[path.length - 1]!;
    const v = holder[key];
    if (v !== '' && !(Array.isArray(v) && v.length === 0)) holder[key] = '(hidden)';
  }
  return copy;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // pino's async destination flushes on exit; timers and sockets are closed by now.
    setTimeout(() => process.exit(code), 200).unref();
  },
  (err: unknown) => {
    process.stderr.write(failureText(err));
    process.exit(exitCodeOf(err));
  },
);

/** Mistakes in what the operator asked for exit 2 (usage, config, a data dir another relay holds); failures to run exit 1. */
function exitCodeOf(err: unknown): number {
  if (err instanceof UsageError || err instanceof ConfigError) return 2;
  if (err instanceof RelayError && (err.code === 'data_dir_locked' || err.code === 'store_not_durable')) return 2;
  return 1;
}

function failureText(err: unknown): string {
  if (err instanceof UsageError) return `xrelay: ${err.message}\nRun "xrelay --help" for usage.\n`;
  // Each message names its field once; one that does not gets the field in front.
  if (err instanceof ConfigError) return `xrelay: config error: ${err.message.includes(err.field) ? err.message : `${err.field}: ${err.message}`}\n`;
  if (err instanceof RelayError) return `xrelay: ${err.message} (${err.code})\n`;
  if (!(err instanceof Error)) return `xrelay: cannot start: ${String(err)}\n`;
  // Start-up failures (a port in use, a missing certificate) are operator errors: one clear line;
  // the stack only when asked for with XRELAY_LOG_LEVEL=debug.
  const code = (err as NodeJS.ErrnoException).code;
  const stack = process.env.XRELAY_LOG_LEVEL === 'debug' || process.env.XRELAY_LOG_LEVEL === 'trace' ? `${err.stack}\n` : '';
  return `xrelay: cannot start: ${err.message}${code ? ` (${code})` : ''}\n${stack}`;
}
