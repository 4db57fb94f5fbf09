/**
 * The relay side of the data-plane benchmark, in its own process so its CPU and RSS are its own:
 * one data plane (native or TypeScript) on a loopback UDP port, sessions joined directly through
 * DataPlane.join with random hop keys (the X25519 join is control plane, not measured), driven over
 * the IPC channel by bench.ts.
 */
import { randomBytes } from 'node:crypto';
import { DEFAULT_PROFILES, parseProfiles } from '../../src/media/codec/profiles.js';
import type { DataPlane } from '../../src/media/dataplane/data-plane.js';
import { loadNativeAddon } from '../../src/media/dataplane/native-addon.js';
import { NativeCellCore } from '../../src/media/dataplane/native-core.js';
import { startNativeDataPlane } from '../../src/media/dataplane/native-data-plane.js';
import { startTsDataPlane } from '../../src/media/dataplane/ts-data-plane.js';

type Msg = { cmd: 'join'; n: number; roomSize: number; profile: string } | { cmd: 'usage' } | { cmd: 'close' };

async function main(): Promise<void> {
  const kind = process.argv[2] === 'native' ? 'native' : 'typescript';
  const profiles = parseProfiles(DEFAULT_PROFILES);
  if (typeof profiles === 'string') throw new Error(profiles);
  const opts = {
    core: { profiles, roomCap: 50, maxSessions: 65_535, queueRecords: 16, queueMaxAgeMs: 200, idleTimeoutMs: 10_000, random16: () => 1 + Math.floor(Math.random() * 0xfffe) },
    host: '127.0.0.1',
    udpPort: 0,
    onClosed: () => undefined,
  };
  let dp: DataPlane;
  const { addon, reason } = loadNativeAddon();
  const heap = (): number => (kind === 'native' ? addon!.mallocBytes() : process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers);
  if (kind === 'native') {
    if (addon === undefined) throw new Error(reason);
    dp = startNativeDataPlane(addon, opts);
  } else dp = await startTsDataPlane(opts);
  const send = (m: unknown): void => void process.send!(m);
  const usage = (): { cpuMs: number; rss: number; heap: number } => {
    const u = process.cpuUsage();
    return { cpuMs: (u.user + u.system) / 1000, rss: process.memoryUsage().rss, heap: heap() };
  };
  process.on('message', (m: Msg) => {
    if (m.cmd === 'join') {
      global.gc?.();
      const rss0 = process.memoryUsage().rss;
      const heap0 = heap();
      const lines: string[] = [];
      for (let i = 0; i < m.n; i++) {
        const room = Buffer.alloc(32);
        room.writeUInt32BE(Math.floor(i / m.roomSize), 0);
        const up = randomBytes(32);
        const down = randomBytes(32);
        const j = dp.join(room, m.profile, up, down);
        if (typeof j === 'string') throw new Error(`join ${i}: ${j}`);
        lines.push(`${j.session} ${up.toString('hex')} ${down.toString('hex')}`);
      }
      const footprint = dp.core instanceof NativeCellCore ? dp.core.sessionFootprint : 0;
      send({ port: dp.udpPort, lines, rss0, heap0, footprint });
    } else if (m.cmd === 'usage') {
      global.gc?.();
      const io = dp.core instanceof NativeCellCore ? dp.core.ioStats() : undefined;
      send({ ...usage(), stats: { ...dp.core.stats, closes: undefined, drops: [...dp.core.stats.drops], kernelDrops: io?.kernelDrops, recvBatches: io?.recvBatches, sendBatches: io?.sendBatches } });
    } else {
      void dp.close().then(() => process.exit(0));
    }
  });
  send({ ready: true });
}

void main();
