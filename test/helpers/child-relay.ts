/** Runs the real CLI (`node dist/src/cli/main.js serve`) as a child process, for crash and signal tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

export const CLI = resolve(__dirname, '../../dist/src/cli/main.js');

export interface ChildRelay {
  proc: ChildProcess;
  url: string;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function spawnRelay(args: string[], env: Record<string, string> = {}): Promise<ChildRelay> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first (npm test does)`);
  const proc = spawn(process.execPath, [CLI, 'serve', '--http-port', '0', '--rtc-port', '0', '--no-media-enabled', '--no-turn-enabled', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += String(d)));
  proc.stderr!.on('data', (d) => (out += String(d)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => proc.on('exit', (code, signal) => r({ code, signal })));
  const port = await new Promise<number>((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error(`relay did not start:\n${out}`)), 15_000);
    const check = (): void => {
      const m = /"httpPort":(\d+)[^\n]*"msg":"relay listening"/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolvePort(Number(m[1]));
      }
    };
    proc.stdout!.on('data', check);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`relay exited during start:\n${out}`));
    });
  });
  return { proc, url: `http://127.0.0.1:${port}`, output: () => out, exited };
}
