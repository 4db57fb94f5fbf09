/**
 * One relay per data dir. Two relays on one store would each keep their own quota counters and
 * usage snapshot, and one would overwrite what the other counts; so the store is opened only under
 * an exclusive lock on its directory.
 *
 * The lock is held by the kernel, not inferred from a file: on Linux, a Unix socket bound in the
 * abstract namespace under a name derived from the directory's device and inode (so every path to
 * the directory, symlinks included, names the same lock). bind() is atomic, so of two relays
 * starting at once exactly one wins; and the kernel frees the name when the holder's last file
 * descriptor closes, which happens on every kind of exit, kill -9 included. No pid is consulted to
 * decide, so a reused pid cannot make a stale lock look held or a held one look stale.
 *
 * `xrelay.lock` in the directory records the holder (pid, start time, lock name) for the operator
 * and the refusal message; it is information, not the lock: a leftover one after kill -9 is
 * harmless and rewritten by the next holder.
 *
 * Limits: abstract sockets belong to a network namespace, so two containers with separate network
 * namespaces sharing one volume do not see each other's lock (share the namespace, or do not share
 * the volume); and any local user who can stat the directory could bind the name first and so keep
 * the relay from starting (refused as "holder unknown"), not take its data. Elsewhere than Linux, the lock file itself is the lock (created exclusively; a
 * holder whose pid no longer runs is stale), which a reused pid can fool into looking held.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { RelayError } from '../../errors.js';

export const LOCK_FILE = 'xrelay.lock';

export interface DataDirLock {
  /** The holder record in the directory. */
  readonly file: string;
  /** Where the lock lives: `@xrelay-datadir-...` (abstract socket) or the lock file. */
  readonly name: string;
  release(): void;
}

interface Holder {
  pid: number;
  startedAt: string;
  lock: string;
}

export async function lockDataDir(dir: string): Promise<DataDirLock> {
  mkdirSync(dir, { recursive: true });
  const real = realpathSync(dir);
  const file = join(real, LOCK_FILE);
  if (process.platform !== 'linux') return lockByFile(real, file);
  return lockBySocket(real, file);
}

async function lockBySocket(real: string, file: string): Promise<DataDirLock> {
  const st = statSync(real);
  const name = `xrelay-datadir-${createHash('sha256').update(`${st.dev}:${st.ino}`).digest('hex').slice(0, 32)}`;
  const server = createServer((socket) => socket.destroy());
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // exclusive: in a cluster worker, bind here rather than share the primary's handle.
      server.listen({ path: `\0${name}`, exclusive: true }, () => resolve());
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw lockedError(real, file, readHolder(file));
    throw err;
  }
  server.unref();
  server.on('error', () => undefined); // any local user may connect to the name: nothing it does may end the relay
  try {
    writeHolder(file, `@${name}`);
  } catch (err) {
    server.close(); // a directory we cannot write to: give the name back
    throw err;
  }
  return { file, name: `@${name}`, release: releaser(server, file) };
}

/** Idempotent: only our own record is removed; the name itself goes with the socket. */
function releaser(server: Server | undefined, file: string): () => void {
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    if (readHolder(file)?.pid === process.pid) rmSync(file, { force: true });
    server?.close();
  };
}

/** The fallback where abstract sockets do not exist (exported for its test on Linux). */
export function lockDataDirByFile(dir: string): DataDirLock {
  mkdirSync(dir, { recursive: true });
  const real = realpathSync(dir);
  return lockByFile(real, join(real, LOCK_FILE));
}

function lockByFile(dir: string, file: string): DataDirLock {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeHolder(file, file, 'wx');
      return { file, name: file, release: releaser(undefined, file) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = readHolder(file);
      if (holder !== undefined && isRunning(holder.pid)) throw lockedError(dir, file, holder);
      rmSync(file, { force: true }); // stale: its holder is gone
    }
  }
  throw lockedError(dir, file, readHolder(file));
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function writeHolder(file: string, lock: string, flag = 'w'): void {
  const holder: Holder = { pid: process.pid, startedAt: new Date().toISOString(), lock };
  writeFileSync(file, JSON.stringify(holder) + '\n', { flag, mode: 0o644 });
}

function readHolder(file: string): Holder | undefined {
  try {
    const h = JSON.parse(readFileSync(file, 'utf8')) as Partial<Holder>;
    return typeof h.pid === 'number' ? (h as Holder) : undefined;
  } catch {
    return undefined;
  }
}

function lockedError(dir: string, file: string, holder: Holder | undefined): RelayError {
  const who = holder ? `pid ${holder.pid}, since ${holder.startedAt}` : 'holder unknown';
  return new RelayError('data_dir_locked', `data dir ${dir} is locked by another relay (${who}; lock file ${file}): stop that relay or give this one another --data-dir`);
}
