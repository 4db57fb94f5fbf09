/**
 * Real redis-server processes for tests and the store bench, on free loopback ports, each in its own temp dir, stopped
 * afterwards: a single durable instance (AOF, appendfsync always) and a 3-master Redis Cluster.
 * Needs `redis-server` and `redis-cli` on PATH (Debian package `redis-server`).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface RedisProcess {
  readonly port: number;
  readonly dir: string;
  readonly url: string;
  /** SIGKILL, no shutdown save: what a crash leaves on disk. */
  kill9(): Promise<void>;
  /** Starts again on the same port and dir (it reloads its AOF). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A free port whose Cluster bus port (+10000) is free too. */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < 200; tries++) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    if ((await portFree(port)) && (await portFree(port + 10_000))) return port;
  }
  throw new Error('no free port pair for redis-server');
}

async function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    let got = '';
    sock.setTimeout(500, () => sock.destroy());
    sock.on('error', () => resolve(false));
    sock.on('close', () => resolve(got.startsWith('+PONG') || got.startsWith('-NOAUTH')));
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => {
      got += d.toString();
      if (got.includes('\r\n')) sock.end();
    });
  });
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Every redis-server still running, killed if this process exits without stopping them (a timed-out test). */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

export async function startRedis(opts: { cluster?: boolean; args?: string[] } = {}): Promise<RedisProcess> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'xr-redis-'));
  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '',
    '--appendonly', 'yes', '--appendfsync', 'always', '--daemonize', 'no', '--loglevel', 'warning',
    ...(opts.cluster ? ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '5000'] : []),
    ...(opts.args ?? []),
  ];
  let child: ChildProcess | undefined;
  const launch = async (): Promise<void> => {
    const c = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'inherit'] });
    child = c;
    running.add(c);
    await waitFor(`redis-server on ${port}`, () => (c.exitCode === null ? ping(port) : Promise.reject(new Error(`redis-server exited ${c.exitCode}`))));
  };
  const exit = async (signal: NodeJS.Signals): Promise<void> => {
    const c = child;
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise((r) => c.once('exit', r));
    c.kill(signal);
    // A clean shutdown can stall (a primary waiting for a replica to catch up); never hang a test on it.
    const timer = setTimeout(() => c.kill('SIGKILL'), 3000);
    await gone;
    clearTimeout(timer);
    running.delete(c);
  };
  await launch();
  return {
    port,
    dir,
    url: `redis://127.0.0.1:${port}`,
    kill9: () => exit('SIGKILL'),
    restart: launch,
    stop: async () => {
      await exit('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RedisCluster {
  readonly nodes: RedisProcess[];
  /** A seed URL (the first node). */
  readonly url: string;
  stop(): Promise<void>;
}

/** Three masters, no replicas, all 16384 slots assigned, cluster_state:ok on every node. */
export async function startRedisCluster(): Promise<RedisCluster> {
  const nodes = await Promise.all([0, 1, 2].map(() => startRedis({ cluster: true })));
  try {
    await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 });
    for (const n of nodes) {
      await waitFor(`cluster_state:ok on ${n.port}`, async () => {
        const { stdout } = await run('redis-cli', ['-p', String(n.port), 'cluster', 'info']);
        return stdout.includes('cluster_state:ok');
      });
    }
  } catch (err) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw err;
  }
  return { nodes, url: nodes[0]!.url, stop: async () => void (await Promise.all(nodes.map((n) => n.stop()))) };
}
