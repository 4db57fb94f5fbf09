/** One relay per data dir: a second one exits 2 naming the lock; the lock dies with its holder, kill -9 included. */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lockDataDir, lockDataDirByFile, LOCK_FILE } from '../../src/envelope/store/data-dir-lock.js';
import { CLI, spawnRelay } from '../helpers/child-relay.js';
import { startTestRelay, tempDir } from '../helpers/relay.js';

const dirs: string[] = [];
const newDir = (): string => {
  const d = tempDir('xrelay-lock-');
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const serveSync = (dataDir: string) =>
  spawnSync(process.execPath, [CLI, 'serve', '--http-port', '0', '--rtc-port', '0', '--no-media-enabled', '--no-turn-enabled', '--data-dir', dataDir], { encoding: 'utf8', timeout: 15_000 });

describe('data dir lock', () => {
  it('a second relay on a running relay\'s data dir exits 2 naming the lock; after kill -9 of the first a new one starts', async () => {
    const dataDir = newDir();
    const first = await spawnRelay(['--data-dir', dataDir]);
    try {
      const holder = JSON.parse(readFileSync(join(dataDir, LOCK_FILE), 'utf8')) as { pid: number; lock: string };
      expect(holder.pid).toBe(first.proc.pid);
      const second = serveSync(dataDir);
      expect(second.status).toBe(2);
      expect(second.stdout).toBe('');
      const line = second.stderr.trim();
      expect(line.split('\n')).toHaveLength(1);
      expect(line).toContain('(data_dir_locked)');
      expect(line).toContain(`data dir ${dataDir}`);
      expect(line).toContain(join(dataDir, LOCK_FILE));
      expect(line).toContain(`pid ${first.proc.pid}`);
      // The first relay is unharmed.
      expect((await fetch(`${first.url}/readyz`)).status).toBe(200);
    } finally {
      first.proc.kill('SIGKILL');
    }
    expect(await first.exited).toMatchObject({ signal: 'SIGKILL' });
    // The record is left behind by kill -9; the lock itself went with the process.
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(true);
    const next = await spawnRelay(['--data-dir', dataDir]);
    try {
      expect((await fetch(`${next.url}/readyz`)).status).toBe(200);
      expect(JSON.parse(readFileSync(join(dataDir, LOCK_FILE), 'utf8')).pid).toBe(next.proc.pid);
    } finally {
      next.proc.kill('SIGTERM');
      expect(await next.exited).toMatchObject({ code: 0 });
    }
    // A clean stop removes its record.
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false);
  });

  it('every path to the directory names the same lock; close releases it', async () => {
    const dataDir = newDir();
    const link = join(newDir(), 'via-link');
    symlinkSync(dataDir, link);
    const relay = await startTestRelay({}, { dataDir });
    try {
      await expect(lockDataDir(link)).rejects.toMatchObject({ code: 'data_dir_locked' });
      await expect(startTestRelay({}, { dataDir: link })).rejects.toMatchObject({ code: 'data_dir_locked' });
    } finally {
      await relay.close();
    }
    const again = await lockDataDir(link);
    again.release();
    const reopened = await startTestRelay({}, { dataDir });
    await reopened.close();
  });

  it('elsewhere than Linux, the lock file is the lock: a running holder refuses, a dead one is stale', async () => {
    const dataDir = newDir();
    const file = join(dataDir, LOCK_FILE);
    // A live holder (another process): refused.
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    const gone = new Promise((r) => other.on('exit', r));
    try {
      writeFileSync(file, JSON.stringify({ pid: other.pid, startedAt: 'then', lock: file }));
      expect(() => lockDataDirByFile(dataDir)).toThrow(expect.objectContaining({ code: 'data_dir_locked' }));
    } finally {
      other.kill('SIGKILL');
    }
    await gone;
    // Its pid no longer runs: the record is stale and taken over.
    const lock = lockDataDirByFile(dataDir);
    expect(JSON.parse(readFileSync(file, 'utf8')).pid).toBe(process.pid);
    expect(() => lockDataDirByFile(dataDir)).toThrow(expect.objectContaining({ code: 'data_dir_locked' }));
    lock.release();
    expect(existsSync(file)).toBe(false);
  });
});
