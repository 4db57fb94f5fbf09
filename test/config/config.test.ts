/** One typed schema: defaults < file < XRELAY_* env < flags, validated with errors that name the field. */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { envName, flagName } from '../../src/config/fields.js';
import { ConfigError, defaultConfig, listFields, loadConfig } from '../../src/config/load.js';
import { startRelay } from '../../src/relay.js';
import { CLI } from '../helpers/child-relay.js';
import { startTestRelay, tempDir } from '../helpers/relay.js';

const cli = (args: string[], env: Record<string, string> = {}) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 15_000 });

describe('config', () => {
  it('has the documented defaults', () => {
    const c = defaultConfig();
    expect(c.host).toBe('127.0.0.1');
    expect(c.httpPort).toBe(7800);
    expect(c.dataDir).toBe('./data');
    expect(c.envelope.sizeBuckets).toEqual([256, 1024, 4096, 16384, 65536]);
    expect(c.envelope.ttlSec).toBe(7 * 86400);
    expect(c.logPosture).toBe('private');
    expect(Object.isFrozen(c) && Object.isFrozen(c.envelope)).toBe(true);
  });

  it('applies file < environment < flags', () => {
    const file = { httpPort: 1000, host: '127.0.0.2', envelope: { ttlSec: 10, sizeBuckets: [512] } };
    const c = loadConfig({ file, env: { XRELAY_HTTP_PORT: '2000', XRELAY_ENVELOPE_TTL_SEC: '20' }, flags: { 'http-port': '3000' } });
    expect(c.httpPort).toBe(3000);
    expect(c.envelope.ttlSec).toBe(20);
    expect(c.host).toBe('127.0.0.2');
    expect(c.envelope.sizeBuckets).toEqual([512]);
    expect(loadConfig({ env: { XRELAY_ENVELOPE_SIZE_BUCKETS: '100, 200' } }).envelope.sizeBuckets).toEqual([100, 200]);
  });

  it.each([
    [{ file: { httpPort: 'x' } }, 'httpPort'],
    [{ file: { httpPort: 70000 } }, 'httpPort'],
    [{ file: { nope: 1 } }, 'nope'],
    [{ file: { envelope: { ttl: 1 } } }, 'envelope.ttl'],
    [{ env: { XRELAY_ENVELOPE_TTL_SEC: '1.5' } }, 'envelope.ttlSec'],
    [{ flags: { 'log-posture': 'loud' } }, 'logPosture'],
    [{ flags: { 'no-such-flag': '1' } }, '--no-such-flag'],
    [{ file: { tlsCert: 'a.pem' } }, 'tlsCert'],
    [{ file: { envelope: { sizeBuckets: [] } } }, 'envelope.sizeBuckets'],
    [{ flags: { host: 'localhost' } }, 'host'],
  ])('refuses %j naming %s', (sources, field) => {
    try {
      loadConfig(sources);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).field).toBe(field);
    }
  });

  it('derives env and flag names from the field path', () => {
    expect(envName(['envelope', 'ttlSec'])).toBe('XRELAY_ENVELOPE_TTL_SEC');
    expect(flagName(['envelope', 'ttlSec'])).toBe('--envelope-ttl-sec');
    expect(flagName(['dataDir'])).toBe('--data-dir');
  });
});

describe('xrelay CLI', () => {
  it('--help documents every option with its flag and environment variable', () => {
    const r = cli(['--help']);
    expect(r.status).toBe(0);
    for (const { path } of listFields()) {
      expect(r.stdout).toContain(flagName(path));
      expect(r.stdout).toContain(envName(path));
    }
  });

  it('exits non-zero naming the bad field, from a flag, the environment or the file', () => {
    const a = cli(['serve', '--http-port', 'abc']);
    expect(a.status).toBe(2);
    expect(a.stderr).toContain('httpPort');
    const b = cli(['serve'], { XRELAY_ENVELOPE_TTL_SEC: '0' });
    expect(b.status).toBe(2);
    expect(b.stderr).toContain('envelope.ttlSec');
    const dir = tempDir();
    const file = join(dir, 'relay.json');
    writeFileSync(file, JSON.stringify({ envelope: { sizeBuckets: 'big' } }));
    const c = cli(['serve', '--config', file]);
    expect(c.status).toBe(2);
    expect(c.stderr).toContain('envelope.sizeBuckets');
    writeFileSync(file, '{not json');
    expect(cli(['serve', '--config', file]).stderr).toContain('not valid JSON');
  });

  it('a wildcard host needs the addresses clients are told: checked before anything binds', async () => {
    const named = (file: Record<string, unknown>): string => {
      try {
        loadConfig({ file });
      } catch (err) {
        if (err instanceof ConfigError) return err.field;
        throw err;
      }
      return 'accepted';
    };
    expect(named({ host: '0.0.0.0', turn: { externalIp: '203.0.113.5' } })).toBe('media.advertisedHost');
    expect(named({ host: '::', media: { advertisedHost: 'relay.example' } })).toBe('turn.externalIp');
    expect(named({ host: '0.0.0.0', media: { advertisedHost: '203.0.113.5' }, turn: { externalIp: '2001:db8::5' } })).toBe('turn.externalIp');
    expect(named({ host: '0.0.0.0', media: { advertisedHost: '203.0.113.5' }, turn: { externalIp: '203.0.113.5' } })).toBe('accepted');
    expect(named({ host: '0.0.0.0', media: { enabled: false }, turn: { enabled: false }, rtc: { enabled: false } })).toBe('accepted');
    // No usable IPv4 address for the edge's candidates: the relay starts without the edge (logged; below).
    expect(named({ host: '0.0.0.0', media: { enabled: false }, turn: { enabled: false } })).toBe('accepted');
    // One set by the operator must be usable.
    for (const bad of ['::1', '0.0.0.0', 'relay.example']) expect(named({ rtc: { advertisedHost: bad } })).toBe('rtc.advertisedHost');
    expect(named({ host: '0.0.0.0', media: { enabled: false }, turn: { enabled: false }, rtc: { advertisedHost: '203.0.113.5' } })).toBe('accepted');
    // The edge's one UDP port is no other plane's UDP port.
    expect(named({ rtc: { port: 7801 }, media: { udpPort: 7801 } })).toBe('rtc.port');
    expect(named({ rtc: { port: 3478 }, turn: { port: 3478 } })).toBe('rtc.port');
    expect(named({ rtc: { port: 50_000 }, turn: { relayPortMin: 49_152, relayPortMax: 65_535 } })).toBe('rtc.port');
    expect(named({ rtc: { port: 7801 }, media: { enabled: false, udpPort: 7801 } })).toBe('accepted');
    expect(named({ rtc: { port: 0 }, media: { udpPort: 0 }, turn: { port: 0 } })).toBe('accepted');
    expect(named({ turn: { relayPortMin: 50000, relayPortMax: 0 } })).toBe('turn.relayPortMin');
    expect(named({ turn: { relayIp: 'relay.example' } })).toBe('turn.relayIp');
    expect(named({ host: '0:0::0', media: { advertisedHost: 'relay.example' } })).toBe('turn.externalIp'); // any spelling of ::
    // A config assembled in code, not through loadConfig, is checked by startRelay all the same.
    await expect(startRelay({ ...defaultConfig(), host: '0.0.0.0', dataDir: tempDir() })).rejects.toMatchObject({ name: 'ConfigError', field: 'media.advertisedHost' });
    const r = cli(['serve', '--host', '0.0.0.0', '--http-port', '0', '--data-dir', tempDir()]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringContaining('media.advertisedHost')]);
  });

  it('a relay on an IPv6 host starts without the WebRTC edge (IPv4 candidates only) and says why', async () => {
    const relay = await startTestRelay({ host: '::1', rtc: { enabled: true } }, { logLevel: 'info' });
    try {
      expect(relay.rtc).toBeUndefined();
      expect(relay.logs()).toContain('WebRTC edge off: no IPv4 address');
      expect((await fetch(`${relay.url}/healthz`)).status).toBe(200);
    } finally {
      await relay.dispose();
    }
  });

  it('a start-up failure (port in use) is one clear line and a non-zero exit', async () => {
    const { createServer } = await import('node:net');
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as import('node:net').AddressInfo).port;
    try {
      const r = cli(['serve', '--http-port', String(port), '--no-media-enabled', '--no-turn-enabled', '--data-dir', tempDir()]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('EADDRINUSE');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      blocker.close();
    }
  });

  it('print-config shows the merged config with secrets hidden', () => {
    const dir = tempDir();
    const file = join(dir, 'relay.json');
    writeFileSync(file, JSON.stringify({ httpPort: 1234, turn: { authSecret: 's3cret' } }));
    const r = cli(['print-config', '--config', file, '--data-dir', '/var/lib/xrelay'], { XRELAY_HOST: '127.0.0.9' });
    expect(r.status).toBe(0);
    const c = JSON.parse(r.stdout);
    expect(c).toMatchObject({ httpPort: 1234, host: '127.0.0.9', dataDir: '/var/lib/xrelay' });
    expect(c.turn.authSecret).toBe('(hidden)');
    expect(r.stdout).not.toContain('s3cret');
  });
});
