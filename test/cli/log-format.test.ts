/** Logs: pretty on a terminal, JSON otherwise, `--log-format` to choose; the same redacted fields either way. */
import { spawn, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger, Redactor, type LogFormat } from '../../src/observability/log.js';
import { CLI, spawnRelay } from '../helpers/child-relay.js';
import { tempDir } from '../helpers/relay.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const newDir = (): string => {
  const d = tempDir('xrelay-log-');
  dirs.push(d);
  return d;
};

/** A sink that says it is (or is not) a terminal. */
function sink(isTTY: boolean): { stream: Writable; text: () => string } {
  let text = '';
  const stream = Object.assign(
    new Writable({
      write(chunk, _enc, cb) {
        text += String(chunk);
        cb();
      },
    }),
    { isTTY },
  );
  return { stream, text: () => text };
}

const PRETTY = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (TRACE|DEBUG|INFO |WARN |ERROR|FATAL) /;
const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;

describe('log format', () => {
  it.each<[LogFormat, boolean, 'pretty' | 'json']>([
    ['auto', true, 'pretty'],
    ['auto', false, 'json'],
    ['pretty', false, 'pretty'],
    ['json', true, 'json'],
  ])('%s on a terminal=%s writes %s', (format, isTTY, expected) => {
    const out = sink(isTTY);
    const log = createLogger({ level: 'info', posture: 'private', format, destination: out.stream });
    log.child({ plane: 'envelope' }).warn({ envelopes: 3, note: 'two words' }, 'store open');
    const raw = out.text().trimEnd();
    const line = raw.replace(/\x1b\[\d+m/g, '');
    if (expected === 'json') {
      expect(JSON.parse(line)).toMatchObject({ level: 40, plane: 'envelope', envelopes: 3, msg: 'store open' });
    } else {
      expect(line).toMatch(PRETTY);
      expect(line).toContain(' WARN  store open plane=envelope envelopes=3 note="two words"');
      // The level is coloured only on a terminal, and never with NO_COLOR set.
      expect(raw.includes('\x1b[')).toBe(isTTY && process.env.NO_COLOR === undefined);
    }
  });

  it('pretty lines carry exactly the JSON line\'s fields, so the privacy posture holds in both', () => {
    const redactor = new Redactor('private');
    const json = sink(false);
    const pretty = sink(true);
    for (const out of [json, pretty]) {
      const log = createLogger({ level: 'info', posture: 'private', destination: out.stream });
      log.info({ mailbox: redactor.id('mailbox-secret-id'), client: redactor.address('198.51.100.7') }, 'reader connected');
    }
    const rec = JSON.parse(json.text()) as { mailbox: string; client: string };
    expect(rec.mailbox).toMatch(/^h:[0-9a-f]{10}$/);
    expect(pretty.text()).toContain(`mailbox=${rec.mailbox} client=${rec.client}`);
    for (const text of [json.text(), pretty.text()]) {
      expect(text).not.toContain('mailbox-secret-id');
      expect(text).not.toContain('198.51.100.7');
    }
  });

  it('the relay logs JSON when stdout is a pipe', async () => {
    const relay = await spawnRelay(['--data-dir', newDir()]);
    relay.proc.kill('SIGTERM');
    await relay.exited;
    const lines = relay.output().trim().split('\n');
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines) expect(JSON.parse(line)).toHaveProperty('level');
  });

  it.skipIf(!hasScript)('the relay logs pretty lines on a real terminal (a pty from script(1)), JSON with --log-format json', async () => {
    const run = async (extra: string): Promise<string> => {
      // script gives the relay a pty for stdout; sh prints the relay's pid so the test can stop it.
      const cmd = `${process.execPath} ${CLI} serve --http-port 0 --no-media-enabled --no-turn-enabled --data-dir ${newDir()} ${extra} & echo "PID=$!"; wait`;
      const proc = spawn('script', ['-q', '-e', '-c', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
      let out = '';
      proc.stdout.on('data', (d) => (out += String(d)));
      const exited = new Promise((r) => proc.on('exit', r));
      let started = false;
      try {
        await expect.poll(() => /relay listening/.test(out), { timeout: 15_000, interval: 50 }).toBe(true);
        started = true;
      } finally {
        // A relay that did not start is killed, not left behind (a closed pty only sends it SIGHUP).
        const pid = /PID=(\d+)/.exec(out)?.[1];
        try {
          if (pid !== undefined) process.kill(Number(pid), started ? 'SIGTERM' : 'SIGKILL');
        } catch {
          /* already gone */
        }
        if (!started) proc.kill('SIGKILL');
      }
      await exited;
      return out.replace(/\r/g, '');
    };
    const pretty = (await run('')).split('\n').filter((l) => / relay listening/.test(l));
    expect(pretty).toHaveLength(1);
    expect(pretty[0]).toMatch(PRETTY);
    expect(pretty[0]).toMatch(/ INFO  relay listening httpPort=\d+ tls=false/);
    const json = (await run('--log-format json')).split('\n').filter((l) => / relay listening/.test(l) || /"relay listening"/.test(l));
    expect(JSON.parse(json[0]!)).toMatchObject({ level: 30, msg: 'relay listening' });
  });
});
