/** Runs coturn's turnutils_uclient and parses its summary; samples a server's CPU from /proc. */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface UclientResult {
  sent: number;
  received: number;
  /** Seconds of the sending phase as uclient reports it (whole seconds). */
  transmitSec: number;
  ok: boolean;
  output: string;
}

export function runUclient(args: readonly string[], timeoutMs = 180_000): Promise<UclientResult> {
  return new Promise((resolve) => {
    const child = spawn('turnutils_uclient', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      const totals = /start_mclient: tot_send_msgs=(\d+), tot_recv_msgs=(\d+)/.exec(out);
      const transmit = /Total transmit time is (\d+)/.exec(out);
      resolve({
        sent: Number(totals?.[1] ?? 0),
        received: Number(totals?.[2] ?? 0),
        transmitSec: Number(transmit?.[1] ?? 0),
        ok: code === 0 && totals !== null,
        output: out.slice(-2000),
      });
    });
  });
}

/** CPU seconds (user + system, all threads) a process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After "pid (comm) ", utime and stime are fields 14 and 15 of the full line: indexes 11 and 12 here.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
