// coturn's test tools (Debian package `coturn`) as the TURN tests run them: turnutils_uclient against
// our relay, turnutils_peer as a UDP echo peer, both on loopback only.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';

export const haveCoturn = spawnSync('sh', ['-c', 'command -v turnutils_uclient && command -v turnutils_peer']).status === 0;

/** coturn's tools run without the sanitizer runtime native/sanitize.sh preloads into Node. */
export function toolEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.LD_PRELOAD;
  return env;
}

export async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Runs turnutils_uclient (killed after 30 s); resolves with its exit code and output. */
export function runUclient(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('turnutils_uclient', args, { stdio: ['ignore', 'pipe', 'pipe'], env: toolEnv() });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

/** Starts turnutils_peer on a free loopback UDP port. */
export async function startPeer(): Promise<{ port: number; stop(): Promise<void> }> {
  const port = await freeUdpPort();
  const peer: ChildProcess = spawn('turnutils_peer', ['-p', String(port), '-L', '127.0.0.1'], { stdio: 'ignore', env: toolEnv() });
  await new Promise((r) => setTimeout(r, 300));
  return {
    port,
    async stop() {
      if (peer.exitCode !== null) return;
      const exited = new Promise((r) => peer.once('exit', r));
      peer.kill('SIGTERM');
      await exited;
    },
  };
}

/** uclient's totals line: messages sent and received over all its clients. */
export function uclientTotals(out: string): { sent: number; received: number } {
  const m = /start_mclient: tot_send_msgs=(\d+), tot_recv_msgs=(\d+)/.exec(out);
  return { sent: Number(m?.[1]), received: Number(m?.[2]) };
}
