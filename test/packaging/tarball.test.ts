/**
 * A production install from the packed tarball, as an integrator does it: `npm pack`, then
 * `npm install --omit=dev` of the tarball in an empty folder (the npm cache first: --prefer-offline).
 * The installed package must build its native data plane (the install hook, with npm's own
 * node-gyp and the node-addon-api dependency), serve (`xrelay serve`, native planes forced with
 * XRELAY_NATIVE=1, /healthz), run `xrelay load` (the envelope-storm scenario: autocannon and a call,
 * two seconds) and let the SDK (`xentrop-relay/client`) post and read an envelope. The tarball holds
 * the LICENSE and no tests or CI files. Slow (a minute or two, mostly npm); bounded by timeouts.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'xrelay-pack-'));
const app = join(work, 'app');
const pkg = join(app, 'node_modules', 'xentrop-relay');
const bin = join(app, 'node_modules', '.bin', 'xrelay');
let packed: { filename: string; files: Array<{ path: string }> };

function run(cmd: string, args: string[], cwd: string, timeoutMs: number, env: NodeJS.ProcessEnv = {}): { status: number | null; out: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, ...env }, maxBuffer: 32 << 20 });
  if (r.error) throw r.error;
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

beforeAll(() => {
  const t0 = Date.now();
  // --ignore-scripts: pack the dist/ that `npm test` just built rather than rebuild it under the
  // feet of the test files running beside this one (`prepare` would run tsc).
  expect(existsSync(join(root, 'dist', 'src', 'cli', 'main.js')), 'run `npm run build` first').toBe(true);
  const pack = run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], root, 120_000);
  expect(pack.status, pack.out).toBe(0);
  packed = (JSON.parse(pack.out.slice(pack.out.indexOf('[')).trim()) as (typeof packed)[])[0]!;
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }));
  const install = run('npm', ['install', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', join(work, packed.filename)], app, 300_000);
  expect(install.status, install.out).toBe(0);
  console.log(`packed ${packed.files.length} files and installed the tarball in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}, 450_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the packed tarball', () => {
  it('holds the LICENSE, the built code, native sources and scenarios, and no tests, CI files or TypeScript sources', () => {
    const paths = packed.files.map((f) => f.path);
    for (const p of ['LICENSE', 'README.md', 'package.json', 'dist/src/cli/main.js', 'dist/src/client/index.js', 'dist/src/client/index.d.ts', 'dist/src/load/cli.js', 'native/binding.gyp', 'native/build.mjs', 'native/src/addon.cc', 'src/load/scenarios/envelope-storm.json', 'openapi.yaml', 'docs/config.schema.json', 'deploy/xrelay.service']) {
      expect(paths).toContain(p);
    }
    // From src/ only the load kit's scenario files (data the built kit reads, beside its sources).
    const scenario = (p: string): boolean => /^src\/load\/scenarios\/[a-z0-9-]+\.json$/.test(p);
    const unwanted = paths.filter((p) => (/^(test|\.ci|src|native\/test|native\/build|scripts)\//.test(p) && !scenario(p)) || /\.test\.|\.map$/.test(p) || (p.endsWith('.ts') && !p.endsWith('.d.ts')));
    expect(unwanted).toEqual([]);
    expect(readFileSync(join(pkg, 'LICENSE'), 'utf8')).toContain('Apache License');
    expect((JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as { license: string }).license).toBe('Apache-2.0');
  });

  it('a production install has no dev tools and built the native data plane', () => {
    const top = readdirSync(join(app, 'node_modules'));
    for (const dev of ['typescript', 'vitest', 'playwright-core', 'node-gyp']) expect(top).not.toContain(dev);
    expect(existsSync(join(pkg, 'native', 'build', 'Release', 'xrelay_dataplane.node'))).toBe(true);
  });

  it('serves (native planes forced), answers /healthz, and the SDK posts and reads an envelope', async () => {
    const dataDir = join(work, 'data');
    mkdirSync(dataDir);
    const relay = spawn(bin, ['serve', '--host', '127.0.0.1', '--http-port', '0', '--rtc-port', '0', '--data-dir', dataDir, '--media-udp-port', '0', '--turn-port', '0', '--log-level', 'info'], {
      cwd: app,
      env: { ...process.env, XRELAY_NATIVE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const { port, logs } = await listening(relay);
      expect(logs).toMatch(/native data plane/);
      const url = `http://127.0.0.1:${port}`;
      expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok' });
      const sdk = join(app, 'sdk.mjs');
      writeFileSync(sdk, SDK_SCRIPT);
      const r = run(process.execPath, [sdk, url], app, 30_000);
      expect(r.status, r.out).toBe(0);
      expect(r.out).toContain('read back: hello from the tarball');
    } finally {
      // A relay that already exited (it failed to start) fires no second 'exit'.
      if (relay.exitCode === null && relay.signalCode === null) {
        relay.kill('SIGTERM');
        await new Promise((res) => relay.once('exit', res));
      }
    }
  }, 60_000);

  it('runs `xrelay load` (envelope storm with autocannon and a call, two seconds) and writes its report', () => {
    const out = join(work, 'reports');
    const r = run(bin, ['load', '--scenario', 'envelope-storm', '--duration', '2s', '--quiet', '--out', out], app, 120_000);
    // 0: every consistency check passed; 1: a check failed on a busy machine. Both ran the scenario.
    expect([0, 1], r.out).toContain(r.status);
    const dirs = readdirSync(out);
    expect(dirs).toHaveLength(1);
    const report = JSON.parse(readFileSync(join(out, dirs[0]!, 'report.json'), 'utf8')) as Record<string, unknown>;
    expect(JSON.stringify(report)).toContain('envelope-storm');
  }, 150_000);
});

/** Resolves with the HTTP port from the relay's "relay listening" log line. */
function listening(relay: ChildProcess): Promise<{ port: number; logs: string }> {
  return new Promise((resolveP, reject) => {
    let logs = '';
    const timer = setTimeout(() => reject(new Error(`relay did not start:\n${logs}`)), 30_000);
    const onData = (d: Buffer): void => {
      logs += String(d);
      const m = /relay listening/.test(logs) ? /"?httpPort"?[=:]\s*(\d+)/.exec(logs) : null;
      if (m) {
        clearTimeout(timer);
        resolveP({ port: Number(m[1]), logs });
      }
    };
    relay.stdout!.on('data', onData);
    relay.stderr!.on('data', onData);
    relay.once('exit', (code) => reject(new Error(`relay exited ${code}:\n${logs}`)));
  });
}

const SDK_SCRIPT = `
import { MailboxReader, generateMailboxKeys, openEnvelope, postEnvelope, sealEnvelope } from 'xentrop-relay/client';
const url = process.argv[2];
const keys = await generateMailboxKeys();
const sealed = sealEnvelope(keys.publicKey, { kind: 'chat', body: new TextEncoder().encode('hello from the tarball') });
await postEnvelope(url, keys.mailboxId, sealed);
const reader = new MailboxReader({ relayUrl: url, keys, autoAck: true });
const got = new Promise((resolve) => reader.once('envelope', (e) => resolve(e.body)));
await reader.connect();
const opened = openEnvelope(keys, await got);
console.log('read back: ' + new TextDecoder().decode(opened.body));
reader.close();
`;
