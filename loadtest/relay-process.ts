/**
 * A relay as a child process for benchmarks (`xrelay serve` from the build, port 0, JSON logs): its
 * URL once it listens, and a stop that waits for it to exit. The benchmarks measure the relay in its
 * own process, so its CPU and RSS are its own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

export interface RelayProcess {
  readonly proc: ChildProcess;
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * `flags` come after `serve --http-port 0`; the relay's stdout is consumed, stderr inherited.
 * XRELAY_BENCH_NODE_ARGS (space-separated) go to the relay's node before the script, e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile the relay alone (written when it exits on SIGTERM).
 */
export async function spawnRelayProcess(flags: readonly string[]): Promise<RelayProcess> {
  const cli = resolve(import.meta.dirname, '../src/cli/main.js');
  const nodeArgs = (process.env['XRELAY_BENCH_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== '');
  const proc = spawn(process.execPath, [...nodeArgs, cli, 'serve', '--http-port', '0', '--log-format', 'json', ...flags], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const port = await new Promise<number>((res, rej) => {
    proc.stdout!.on('data', (d) => {
      out += String(d);
      const m = /"httpPort":(\d+)/.exec(out);
      if (m) res(Number(m[1]));
    });
    proc.on('exit', () => rej(new Error(`relay exited: ${out}`)));
  });
  proc.stdout!.resume();
  return {
    proc,
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise((r) => {
        if (proc.exitCode !== null) return r();
        proc.on('exit', () => r());
        proc.kill('SIGTERM');
      }),
  };
}
