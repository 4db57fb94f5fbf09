/** The `xrelay` command line as an operator meets it: the real CLI (dist/src/cli/main.js), its streams and exit codes. */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI } from '../helpers/child-relay.js';
import { tempDir } from '../helpers/relay.js';

const cli = (args: string[], env: Record<string, string> = {}) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 15_000 });
const version = (JSON.parse(readFileSync(resolve(__dirname, '../../package.json'), 'utf8')) as { version: string }).version;

/** A usage or config mistake: exit 2, nothing on stdout, and a first stderr line that says it once. */
function refused(args: string[]): string {
  const r = cli(args);
  expect(r.status, r.stderr).toBe(2);
  expect(r.stdout).toBe('');
  const first = r.stderr.split('\n')[0]!;
  expect(first).toMatch(/^xrelay: /);
  return first;
}

describe('xrelay: version, help, usage', () => {
  it.each([['--version'], ['-v'], ['-V'], ['version'], ['serve', '--version']])('%s prints the version on stdout, exit 0', (...args) => {
    const r = cli(args);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`xrelay ${version}\n`);
    expect(r.stderr).toBe('');
  });

  it('--help and -h: the full help on stdout, exit 0, flags with value placeholders and defaults', () => {
    for (const flag of ['--help', '-h', 'help']) {
      const r = cli([flag]);
      expect(r.status).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain('--http-port <port>');
      expect(r.stdout).toContain('--data-dir <dir>');
      expect(r.stdout).toContain('--log-format <auto|json|pretty>');
      expect(r.stdout).toContain('--media-enabled, --no-media-enabled');
      expect(r.stdout).toMatch(/--http-port <port>\n.*\n\s+default 7800; env XRELAY_HTTP_PORT/);
    }
  });

  it('bare xrelay: a short usage on stderr, nothing on stdout, exit 2', () => {
    const r = cli([]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^Usage: xrelay <command> \[options\]/);
    expect(r.stderr).toContain('xrelay --help');
    expect(r.stderr.split('\n').length).toBeLessThan(20);
  });
});

describe('xrelay: mistakes on the command line (exit 2, one clear line)', () => {
  it('an unknown flag is called unknown, with the nearest real one', () => {
    expect(refused(['serve', '--bogus'])).toBe('xrelay: unknown option --bogus');
    expect(refused(['serve', '--http-prot', '1'])).toBe('xrelay: unknown option --http-prot (did you mean --http-port?)');
    expect(refused(['serve', '-x'])).toBe('xrelay: unknown option -x');
  });

  it('a missing value names the option and its placeholder, at the end or before another option', () => {
    expect(refused(['serve', '--http-port'])).toBe('xrelay: option --http-port needs a value: --http-port <port>');
    expect(refused(['serve', '--data-dir', '--http-port', '0'])).toBe('xrelay: option --data-dir needs a value: --data-dir <dir>');
    expect(refused(['print-config', '--config'])).toBe('xrelay: option --config needs a value: --config <file>');
  });

  it('an unknown command is a command error, not a config error', () => {
    expect(refused(['frob'])).toBe('xrelay: unknown command "frob"; commands: serve, print-config, load, drain, reconcile-usage, config-docs, version, help');
    expect(refused(['serv'])).toMatch(/^xrelay: unknown command "serv" \(did you mean "serve"\?\)/);
    expect(refused(['--http-port', '1'])).toMatch(/^xrelay: no command given before --http-port/);
    expect(refused(['serve', 'extra'])).toBe('xrelay: unexpected argument "extra" after "serve"');
  });

  it('booleans: --flag, --no-flag, --flag=false; any other value is refused', () => {
    const r = cli(['print-config', '--no-media-enabled', '--turn-tls', '--turn-tcp=false']);
    expect(r.status).toBe(0);
    const c = JSON.parse(r.stdout);
    expect([c.media.enabled, c.turn.tls, c.turn.tcp]).toEqual([false, true, false]);
    expect(refused(['serve', '--media-enabled=maybe'])).toMatch(/^xrelay: option --media-enabled takes no value/);
  });

  it('a bad value names the field once, with where it came from', () => {
    expect(refused(['serve', '--http-port', 'abc'])).toBe('xrelay: config error: httpPort (--http-port): expected an integer, got the string "abc"');
    const line = refused(['serve', '--host', '0.0.0.0', '--data-dir', tempDir()]);
    expect(line.match(/media\.advertisedHost/g)).toHaveLength(2); // the field, then the advice naming it; not "in X: X:"
    expect(line).toMatch(/^xrelay: config error: media\.advertisedHost: host 0\.0\.0\.0 is a wildcard/);
  });
});

describe('xrelay: JSON config files are typed strictly', () => {
  const withFile = (json: unknown): string => {
    const file = join(tempDir(), 'relay.json');
    writeFileSync(file, JSON.stringify(json));
    return refused(['print-config', '--config', file]);
  };

  it('a string where the field is a number, boolean or list is an error naming the field and the expected type', () => {
    expect(withFile({ httpPort: '7800' })).toBe('xrelay: config error: httpPort (config file): expected an integer (a JSON number), got the string "7800"');
    expect(withFile({ media: { enabled: 'false' } })).toBe('xrelay: config error: media.enabled (config file): expected true or false (a JSON boolean), got the string "false"');
    expect(withFile({ envelope: { sizeBuckets: [256, '1024'] } })).toMatch(/^xrelay: config error: envelope\.sizeBuckets \(config file\): expected an integer \(a JSON number\)/);
    expect(withFile({ envelope: { postRatePerSec: true } })).toMatch(/^xrelay: config error: envelope\.postRatePerSec \(config file\): expected a number/);
    expect(withFile({ host: 127001 })).toBe('xrelay: config error: host (config file): expected a string, got the number 127001');
    // A secret's value is never echoed, even when it has the wrong type.
    expect(withFile({ turn: { staticUsers: 'alice:s3cret' } })).toBe('xrelay: config error: turn.staticUsers (config file): expected a list (a JSON array), got (hidden)');
  });

  it('an unknown key, top level or in a section, is an error naming it', () => {
    expect(withFile({ httpport: 7800 })).toBe('xrelay: config error: unknown config key "httpport" (did you mean "httpPort"?)');
    expect(withFile({ turn: { prot: 3478 } })).toBe('xrelay: config error: unknown config key "turn.prot" (did you mean "turn.port"?)');
    expect(withFile({ turn: 3478 })).toBe('xrelay: config error: turn (config file): expected an object of turn options, got the number 3478');
  });

  it('the same values as text (environment, flags) are parsed', () => {
    const r = cli(['print-config', '--http-port', '7801'], { XRELAY_MEDIA_ENABLED: 'false', XRELAY_ENVELOPE_SIZE_BUCKETS: '256,1024' });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ httpPort: 7801, media: { enabled: false }, envelope: { sizeBuckets: [256, 1024] } });
  });
});

describe('xrelay load', () => {
  it('hands every argument after "load" to the load kit untouched', () => {
    const r = cli(['load', '--help']);
    // The kit answers its own --help (not the relay's), whatever its text.
    expect(r.stdout + r.stderr).not.toContain('Options of serve and print-config');
    expect(r.stdout + r.stderr).toMatch(/scenario/);
  });
});
