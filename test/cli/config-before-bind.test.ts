/**
 * Config values that used to fail inside a plane (exit 1, the field unnamed) now fail in the config
 * layer before anything binds: exit 2, nothing on stdout (no log line: nothing started), and a
 * stderr line naming the field. Each case runs the real CLI (`xrelay serve`).
 */
import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI } from '../helpers/child-relay.js';
import { tempDir } from '../helpers/relay.js';

const fixture = (name: string): string => resolve(__dirname, '../turn/fixtures', name);
const dir = tempDir();
const junk = join(dir, 'junk.pem');
writeFileSync(junk, 'not a certificate\n');
const otherKey = join(dir, 'other-key.pem');
writeFileSync(otherKey, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
const cert = fixture('turn-test-cert.pem');
const key = fixture('turn-test-key.pem');

/** `xrelay serve` on loopback, ephemeral ports, a fresh data dir, plus `extra`. */
function serve(extra: string[]): { status: number | null; stdout: string; first: string } {
  const args = ['serve', '--host', '127.0.0.1', '--http-port', '0', '--rtc-port', '0', '--media-udp-port', '0', '--turn-port', '0', '--turn-tls-port', '0', '--data-dir', tempDir(), ...extra];
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 15_000, env: { ...process.env, XRELAY_LOG_LEVEL: 'info' } });
  return { status: r.status, stdout: r.stdout, first: r.stderr.split('\n')[0]! };
}

const cases: [string, string[], string][] = [
  ['a profile that is not name:tick:up:down', ['--media-profiles', 'audio:20:160'], 'media.profiles'],
  ['a profile body out of range', ['--media-profiles', 'audio:20:160:4000'], 'media.profiles'],
  ['a down body too small for the room roster', ['--media-profiles', 'tiny:20:64:64', '--media-room-cap', '500'], 'media.profiles'],
  ['an unreadable certificate file', ['--tls-cert', join(dir, 'missing.pem'), '--tls-key', key], 'tlsCert'],
  ['a certificate file that is not PEM', ['--tls-cert', junk, '--tls-key', key], 'tlsCert'],
  ['a key file that is not PEM', ['--tls-cert', cert, '--tls-key', junk], 'tlsKey'],
  ['a key that does not match the certificate', ['--tls-cert', cert, '--tls-key', otherKey], 'tlsKey'],
  ['TURN over TLS without any certificate', ['--turn-tls'], 'turn.tls'],
  ['a TURN TLS certificate that is not PEM', ['--turn-tls', '--turn-tls-cert', junk, '--turn-tls-key', key], 'turn.tlsCert'],
  ['media and TURN on one UDP port', ['--media-udp-port', '47931', '--turn-port', '47931'], 'turn.port'],
  ['TURN TCP and TLS on one port', ['--turn-port', '47932', '--turn-tls', '--turn-tls-port', '47932', '--tls-cert', cert, '--tls-key', key], 'turn.tlsPort'],
];

describe('xrelay serve: a bad value is refused before anything binds (exit 2, the field named)', () => {
  it.each(cases)('%s', (_what, extra, field) => {
    const r = serve(extra);
    expect(r.status, r.first).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.first.startsWith(`xrelay: config error: ${field}: `), r.first).toBe(true);
  });

  it('the same flags with good values start (the cases above fail for the value, not the flags)', async () => {
    const args = ['serve', '--host', '127.0.0.1', '--http-port', '0', '--rtc-port', '0', '--media-udp-port', '0', '--turn-port', '0', '--turn-tls', '--turn-tls-port', '0'];
    const proc = spawn(process.execPath, [CLI, ...args, '--media-profiles', 'audio:20:160:480', '--tls-cert', cert, '--tls-key', key, '--data-dir', tempDir()], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d) => (out += String(d)));
    proc.stderr.on('data', (d) => (out += String(d)));
    const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
    await expect.poll(() => out.includes('"msg":"relay listening"') || proc.exitCode !== null, { timeout: 15_000, interval: 50 }).toBe(true);
    expect(out).toContain('"msg":"relay listening"');
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 30_000);
});
