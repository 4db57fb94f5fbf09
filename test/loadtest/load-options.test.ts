/**
 * `xrelay load` options: one table drives parsing, --help and docs/LOADTEST.md. Bad values, unknown
 * options, missing values, stray arguments and unknown scenarios exit 2 with a stable code in the
 * message; --help lists every option with its placeholder and default and exits 0.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runLoadCommand } from '../../src/load/cli.js';
import { LOAD_OPTIONS, LoadArgError, loadHelpText, parseLoadArgs, withOptionsTable } from '../../src/load/options.js';
import { CLI } from '../helpers/child-relay.js';

const codeOf = (argv: string[]): string => {
  try {
    parseLoadArgs(argv);
  } catch (err) {
    expect(err).toBeInstanceOf(LoadArgError);
    return (err as LoadArgError).code;
  }
  return 'ok';
};

/** Runs the command in this process, capturing what it prints. */
async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => out.push(String(s)) > 0);
  const code = await runLoadCommand(argv);
  vi.restoreAllMocks();
  return { code, out: out.join('\n'), err: err.join('\n') };
}

afterEach(() => vi.restoreAllMocks());

describe('xrelay load options', () => {
  it('parses every option into typed values, with defaults', () => {
    expect(parseLoadArgs([])).toMatchObject({ scenario: 'group-audio-8', out: 'reports', workers: 1, inProcess: false, leak: false, quiet: false });
    const a = parseLoadArgs(['--scenario', 'churn', '--duration', '1500ms', '--seed', '4294967295', '--workers=3', '--relay', 'http://127.0.0.1:7800', '--relay-udp', '[::1]:7801', '--quiet', '--out', '/tmp/x']);
    expect(a).toMatchObject({ scenario: 'churn', duration: 1500, seed: 4294967295, workers: 3, relay: ['http://127.0.0.1:7800'], relayUdp: { host: '::1', port: 7801 }, quiet: true, out: '/tmp/x' });
    expect(parseLoadArgs(['-h']).help).toBe(true);
  });

  it('rejects bad values, unknown options, missing values and stray arguments with stable codes', () => {
    const cases: Array<[string[], string]> = [
      [['--seed', 'abc'], 'bad_value'],
      [['--seed', '-1'], 'missing_value'], // parseArgs reads "-1" as an option, so the value is missing
      [['--seed=-1'], 'bad_value'],
      [['--seed', '4294967296'], 'bad_value'],
      [['--seed', '1.5'], 'bad_value'],
      [['--workers', '0'], 'bad_value'],
      [['--workers', '17'], 'bad_value'],
      [['--duration', '500ms'], 'bad_value'],
      [['--duration', '20x'], 'bad_value'],
      [['--relay', 'not a url'], 'bad_value'],
      [['--relay', 'ftp://h/'], 'bad_value'],
      [['--relay', 'http://h', '--relay-udp', 'h:99999'], 'bad_value'],
      [['--bogus'], 'unknown_option'],
      [['-x'], 'unknown_option'],
      [['--seed'], 'missing_value'],
      [['--seed', '--quiet'], 'missing_value'],
      [['--quiet=yes'], 'bad_value'],
      [['group-audio-8'], 'unexpected_argument'],
      [['--relay-udp', '127.0.0.1:7801'], 'conflicting_options'],
      [['--in-process', '--relay', 'http://127.0.0.1:1'], 'conflicting_options'],
      [['--leak', '--workers', '2'], 'conflicting_options'],
    ];
    for (const [argv, code] of cases) expect(codeOf(argv), argv.join(' ')).toBe(code);
  });

  it('exits 2 with the code and the option in the message, 0 for --help and --list', async () => {
    const seed = await run(['--seed', 'abc']);
    expect(seed.code).toBe(2);
    expect(seed.err).toContain('[bad_value]');
    expect(seed.err).toContain('--seed');
    const unknown = await run(['--bogus']);
    expect([unknown.code, unknown.err.includes('[unknown_option]'), unknown.err.includes('--bogus')]).toEqual([2, true, true]);
    const scenario = await run(['--scenario', 'no-such-scenario']);
    expect(scenario.code).toBe(2);
    expect(scenario.err).toContain('[unknown_scenario]');
    expect(scenario.err).toContain('group-audio-8'); // names the known ones
    const leakWorkers = await run(['--scenario', 'leak-audio', '--workers', '2']);
    expect([leakWorkers.code, leakWorkers.err.includes('[conflicting_options]')]).toEqual([2, true]);
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toBe(loadHelpText());
    const list = await run(['--list']);
    expect(list.code).toBe(0);
    expect(list.out).toContain('group-audio-50');
  });

  it('--help lists every option with its value placeholder and default', () => {
    const help = loadHelpText();
    const flat = help.replace(/\s+/g, ' '); // help wraps at 100 columns
    for (const o of LOAD_OPTIONS) {
      expect(help).toContain(`--${o.flag}${o.value !== undefined ? ` ${o.value}` : ''}`);
      if (o.def !== undefined) expect(flat).toContain(`(default: ${o.def})`);
    }
    expect(help.split('\n').length).toBeGreaterThan(LOAD_OPTIONS.length);
  });

  it('docs/LOADTEST.md carries the generated options table (node dist/src/load/options-docs.js docs/LOADTEST.md)', () => {
    const doc = readFileSync(resolve(__dirname, '../../docs/LOADTEST.md'), 'utf8');
    expect(withOptionsTable(doc)).toBe(doc);
  });

  it('`xrelay load` hands its arguments to the kit (built CLI): --help exits 0, --seed abc exits 2', () => {
    const help = spawnSync(process.execPath, [CLI, 'load', '--help'], { encoding: 'utf8', timeout: 15_000 });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('--workers N');
    const bad = spawnSync(process.execPath, [CLI, 'load', '--seed', 'abc'], { encoding: 'utf8', timeout: 15_000 });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('[bad_value]');
    const kit = spawnSync(process.execPath, [resolve(__dirname, '../../dist/src/load/main.js'), '--bogus'], { encoding: 'utf8', timeout: 15_000 });
    expect(kit.status).toBe(2);
    expect(kit.stderr).toContain('[unknown_option]');
  });
});
