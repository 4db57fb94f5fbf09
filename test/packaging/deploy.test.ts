/**
 * The shipped deployment files, checked as far as this machine can without Docker or a booted
 * systemd: the unit passes `systemd-analyze verify` (where installed) and carries the hardening and
 * lifecycle settings the README promises; the Dockerfile copies only what exists or the build makes,
 * exposes the default ports of the config schema, runs as a non-root user, and its HEALTHCHECK
 * command answers 0 against a live relay and 1 against a closed port.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/load.js';
import { startTestRelay } from '../helpers/relay.js';

const root = resolve(import.meta.dirname, '../..');
const unit = readFileSync(resolve(root, 'deploy/xrelay.service'), 'utf8');
const dockerfile = readFileSync(resolve(root, 'Dockerfile'), 'utf8');
const hasSystemdAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;

/** Dockerfile instructions, continuation lines joined, comments dropped. */
function instructions(text: string): Array<{ op: string; args: string }> {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'))
    .map((l) => {
      const m = /^\s*(\S+)\s+(.*)$/.exec(l)!;
      return { op: m[1]!.toUpperCase(), args: m[2]!.trim() };
    });
}

describe('deploy/xrelay.service', () => {
  it.skipIf(!hasSystemdAnalyze)('passes systemd-analyze verify with no finding', () => {
    const r = spawnSync('systemd-analyze', ['verify', resolve(root, 'deploy/xrelay.service')], { encoding: 'utf8', timeout: 20_000 });
    expect({ status: r.status, out: `${r.stdout}${r.stderr}`.trim() }).toEqual({ status: 0, out: '' });
  });

  it('is hardened, keeps its state in StateDirectory, reloads on SIGHUP and restarts on failure', () => {
    const settings = new Map<string, string>();
    for (const line of unit.split('\n')) {
      const m = /^([A-Za-z]+)=(.*)$/.exec(line);
      if (m) settings.set(m[1]!, m[2]!);
    }
    for (const [k, v] of Object.entries({ DynamicUser: 'yes', NoNewPrivileges: 'yes', ProtectSystem: 'strict', ProtectHome: 'yes', PrivateTmp: 'yes', StateDirectory: 'xrelay', Restart: 'on-failure', KillSignal: 'SIGTERM', ExecReload: '/bin/kill -HUP $MAINPID', CapabilityBoundingSet: 'CAP_NET_BIND_SERVICE' })) {
      expect(settings.get(k), k).toBe(v);
    }
    expect(Number(settings.get('LimitNOFILE'))).toBeGreaterThanOrEqual(65536);
    expect(Number.parseInt(settings.get('TimeoutStopSec')!, 10)).toBeGreaterThan(defaultConfig().shutdownGraceSec);
    expect(settings.get('ExecStart')).toContain('--data-dir %S/xrelay'); // the StateDirectory
    // ExecStart runs the CLI of the installed package: the file the tarball ships.
    const cli = /node_modules\/xentrop-relay\/(\S+)/.exec(settings.get('ExecStart')!)![1]!;
    expect(cli).toBe('dist/src/cli/main.js');
    expect(existsSync(resolve(root, 'src/cli/main.ts'))).toBe(true);
  });
});

describe('Dockerfile', () => {
  const ins = instructions(dockerfile);

  it('builds in a node:20-bookworm-slim stage with a compiler and runs a slim stage as a non-root user', () => {
    const froms = ins.filter((i) => i.op === 'FROM').map((i) => i.args);
    expect(froms).toEqual(['node:20-bookworm-slim AS build', 'node:20-bookworm-slim']);
    expect(ins.find((i) => i.op === 'RUN' && i.args.includes('apt-get install'))!.args).toMatch(/g\+\+.*make.*python3/);
    const users = ins.filter((i) => i.op === 'USER');
    expect(users.map((u) => u.args)).toEqual(['node']);
    expect(ins.findIndex((i) => i.op === 'USER')).toBeGreaterThan(ins.findIndex((i) => i.op === 'FROM' && !i.args.includes('AS build')));
    expect(ins.find((i) => i.op === 'VOLUME')!.args).toContain('/var/lib/xrelay');
    expect(ins.find((i) => i.op === 'ENV' && i.args.includes('XRELAY_DATA_DIR'))!.args).toContain('XRELAY_DATA_DIR=/var/lib/xrelay');
  });

  it('copies only files that exist in the context or that the build stage makes', () => {
    const ignored = readFileSync(resolve(root, '.dockerignore'), 'utf8').split('\n').filter(Boolean);
    for (const { args } of ins.filter((i) => i.op === 'COPY')) {
      const parts = args.split(/\s+/);
      const fromBuild = parts[0] === '--from=build';
      const sources = (fromBuild ? parts.slice(1) : parts).slice(0, -1);
      for (const src of sources) {
        if (fromBuild) {
          // Made by `npm ci` in the build stage: dist/ (tsc), the addon, node_modules; or copied in.
          const rel = src.replace(/^\/src\//, '');
          expect(/^(dist\/|native\/build\/|node_modules\/)/.test(rel) || existsSync(resolve(root, rel)), src).toBe(true);
        } else {
          expect(existsSync(resolve(root, src)), src).toBe(true);
          expect(ignored.some((p) => src.replace(/\/$/, '') === p), `${src} is in .dockerignore`).toBe(false);
        }
      }
    }
  });

  it('exposes the default ports of the config schema', () => {
    const c = defaultConfig();
    const exposed = ins.filter((i) => i.op === 'EXPOSE').flatMap((i) => i.args.split(/\s+/));
    for (const p of [`${c.httpPort}/tcp`, `${c.media.udpPort}/udp`, `${c.turn.port}/udp`, `${c.turn.port}/tcp`, `${c.turn.tlsPort}/tcp`]) expect(exposed).toContain(p);
  });

  it('its HEALTHCHECK answers 0 against a live relay and 1 against a closed port', async () => {
    const check = /CMD node -e "(.*)"$/.exec(ins.find((i) => i.op === 'HEALTHCHECK')!.args.replace(/\s+/g, ' '))![1]!;
    const relay = await startTestRelay({ logLevel: 'warn' });
    const closedPort = await new Promise<number>((done) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const port = (s.address() as { port: number }).port;
        s.close(() => done(port));
      });
    });
    try {
      // Async: the relay answers from this process, so the check must not block its event loop.
      const run = (port: number): Promise<number | null> =>
        new Promise((done) => {
          const child = spawn(process.execPath, ['-e', check], { env: { ...process.env, XRELAY_HTTP_PORT: String(port), XRELAY_TLS_CERT: '' }, stdio: 'ignore', timeout: 15_000 });
          child.once('exit', (code) => done(code));
        });
      expect(await run(relay.httpPort)).toBe(0);
      expect(await run(closedPort)).toBe(1);
    } finally {
      await relay.dispose();
    }
  });
});
