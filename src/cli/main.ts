#!/usr/bin/env node
/** The `xrelay` command line. */
import { readFileSync, writeFileSync } from 'node:fs';
import { ConfigError, listFields, loadConfig, readConfigFile } from '../config/load.js';
import type { RelayConfig } from '../config/schema.js';
import { startRelay } from '../server/relay.js';
import { parseArgs } from './args.js';
import { configReferenceMarkdown, withConfigReference } from './config-docs.js';
import { helpText } from './help.js';

async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  if (args.command === 'load') {
    const kit = (await import(new URL('../../loadtest/kit/cli.js', import.meta.url).href)) as { runLoadCommand(argv: string[]): Promise<number> };
    return kit.runLoadCommand(args.rest);
  }
  if (args.help || args.command === undefined || args.command === 'help') {
    process.stdout.write(helpText());
    return args.command === undefined && !args.help ? 2 : 0;
  }
  if (args.command === 'config-docs') {
    // `xrelay config-docs --readme README.md` rewrites the README's reference in place.
    const readme = args.flags.readme;
    if (readme === undefined) process.stdout.write(configReferenceMarkdown());
    else writeFileSync(readme, withConfigReference(readFileSync(readme, 'utf8')));
    return 0;
  }
  if (args.command === 'version') {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    process.stdout.write(`xrelay ${pkg.version}\n`);
    return 0;
  }
  const config = loadConfig({
    ...(args.configFile !== undefined ? { file: readConfigFile(args.configFile) } : {}),
    env: process.env,
    flags: args.flags,
  });
  if (args.command === 'print-config') {
    process.stdout.write(JSON.stringify(hideSecrets(config), null, 2) + '\n');
    return 0;
  }
  if (args.command !== 'serve') throw new ConfigError(args.command, `unknown command "${args.command}" (see xrelay --help)`);
  return serve(config);
}

async function serve(config: RelayConfig): Promise<number> {
  const relay = await startRelay(config);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) {
        relay.logger.warn({ signal }, 'second signal: exiting now');
        resolve(1);
        return;
      }
      stopping = true;
      relay.logger.info({ signal }, 'shutting down');
      relay.close().then(
        () => resolve(0),
        (err: unknown) => {
          relay.logger.error({ err: String(err) }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
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
    if (err instanceof ConfigError) process.stderr.write(`xrelay: config error in ${err.field}: ${err.message}\n`);
    else if (err instanceof Error) {
      // Start-up failures (a port in use, a missing certificate) are operator errors: one clear line;
      // the stack only when asked for with XRELAY_LOG_LEVEL=debug.
      const code = (err as NodeJS.ErrnoException).code;
      process.stderr.write(`xrelay: cannot start: ${err.message}${code ? ` (${code})` : ''}\n`);
      if (process.env.XRELAY_LOG_LEVEL === 'debug' || process.env.XRELAY_LOG_LEVEL === 'trace') process.stderr.write(`${err.stack}\n`);
    } else process.stderr.write(`xrelay: cannot start: ${String(err)}\n`);
    process.exit(err instanceof ConfigError ? 2 : 1);
  },
);
