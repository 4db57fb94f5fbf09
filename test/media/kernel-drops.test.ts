/**
 * Kernel receive-queue drops read from /proc/net/udp{,6} (the TypeScript plane's
 * xrelay_media_kernel_drops_total): a real socket with a tiny SO_RCVBUF, a burst sent by a child
 * process while this event loop is blocked (spawnSync), then every datagram is either received or
 * in the drops column. Linux only.
 */
import { spawnSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { findUdpSocketInode, readUdpKernelDrops } from '../../src/media/dataplane/kernel-drops.js';
import { startTsDataPlane } from '../../src/media/dataplane/ts-data-plane.js';
import { registerMediaMetrics } from '../../src/media/server/media-metrics.js';
import { MetricsRegistry } from '../../src/observability/metrics.js';
import { coreOptions } from './core-helpers.js';
import { sleep } from './harness.js';

const linux = process.platform === 'linux';

/** Sends `n` datagrams of 188 bytes to host:port from a child process, blocking this one; returns how many the child's socket accepted. */
function burst(host: string, port: number, n: number): number {
  const script = `
    const s = require('node:dgram').createSocket(${JSON.stringify(host.includes(':') ? 'udp6' : 'udp4')});
    let ok = 0, done = 0;
    s.connect(${port}, ${JSON.stringify(host)}, () => {
      const b = Buffer.alloc(188, 7);
      for (let i = 0; i < ${n}; i++) s.send(b, (e) => { if (!e) ok++; if (++done === ${n}) { process.stdout.write(String(ok)); s.close(); } });
    });`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) throw new Error(`burst child failed: ${r.stderr}`);
  return Number(r.stdout);
}

/** Waits until no datagram arrived for `quietMs` (bounded). */
async function drain(count: () => number, quietMs = 200, maxMs = 5000): Promise<void> {
  const t0 = Date.now();
  let last = -1;
  while (Date.now() - t0 < maxMs) {
    const now = count();
    if (now === last) return;
    last = now;
    await sleep(quietMs);
  }
}

let open: Socket[] = [];
afterEach(() => {
  for (const s of open) s.close();
  open = [];
});

describe.runIf(linux)('kernel drops from /proc/net/udp', () => {
  it.each(['127.0.0.1', '::1'])('a socket on %s: received + kernel drops = sent, drops > 0', async (host) => {
    const s = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', recvBufferSize: 4096 });
    open.push(s);
    let received = 0;
    s.on('message', () => received++);
    await new Promise<void>((r) => s.bind(0, host, () => r()));
    const inode = findUdpSocketInode(s.address().port);
    expect(inode).toMatch(/^\d+$/);
    expect(readUdpKernelDrops(inode!)).toBe(0);
    const sent = burst(host, s.address().port, 2000);
    await drain(() => received);
    const drops = readUdpKernelDrops(inode!)!;
    console.log(`[kernel drops ${host}] sent ${sent}, received ${received}, kernel drops ${drops}`);
    expect(sent).toBe(2000);
    expect(drops).toBeGreaterThan(0);
    expect(received + drops).toBe(sent);
  });

  it('the TypeScript data plane exports them as xrelay_media_kernel_drops_total', async () => {
    const dp = await startTsDataPlane({ core: coreOptions(), host: '127.0.0.1', udpPort: 0, onClosed: () => undefined, recvBufferBytes: 4096 });
    try {
      const metrics = new MetricsRegistry();
      registerMediaMetrics(metrics, dp.core, () => ({ ...dp.counters(), wsBackpressureDrops: 0 }));
      const text0 = metrics.render();
      expect(text0).toMatch(/^xrelay_media_kernel_drops_total 0$/m);
      const sent = burst('127.0.0.1', dp.udpPort, 2000);
      const seen = (): number => [...dp.core.stats.drops].reduce((a, b) => a + b, 0);
      await drain(seen);
      const kernel = dp.counters().kernelDrops!;
      console.log(`[kernel drops TS plane] sent ${sent}, dropped by the core (garbage) ${seen()}, by the kernel ${kernel}`);
      expect(kernel).toBeGreaterThan(0);
      expect(seen() + kernel).toBe(sent);
      expect(metrics.render()).toMatch(new RegExp(`^xrelay_media_kernel_drops_total ${kernel}$`, 'm'));
    } finally {
      await dp.close();
    }
  });
});
