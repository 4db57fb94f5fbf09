/**
 * The relay side of the data-plane benchmark, in its own process so its CPU and RSS are its own:
 * one data plane (native or TypeScript) on a loopback UDP port, sessions joined directly through
 * DataPlane.join with random hop keys (the X25519 join is control plane, not measured), driven over
 * the IPC channel by bench.ts.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { DEFAULT_PROFILES, parseProfiles } from '../../src/media/codec/profiles.js';
import type { DataPlane } from '../../src/media/dataplane/data-plane.js';
import { loadNativeAddon } from '../../src/native/addon.js';
import { NativeCellCore } from '../../src/media/dataplane/native-core.js';
import { startNativeDataPlane } from '../../src/media/dataplane/native-data-plane.js';
import { startTsDataPlane } from '../../src/media/dataplane/ts-data-plane.js';

type Msg = { cmd: 'join'; n: number; roomSize: number; profile: string; file: string } | { cmd: 'usage' } | { cmd: 'close' };

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
      // Everything the join loop needs (keys, the room id, the sessions file) is allocated before
      // the baseline and the loop itself allocates next to nothing, so memory per session measures
      // the data plane's own state, not this loop's strings.
      const line = 10 + 1 + 64 + 1 + 64 + 1;
      const keys = randomBytes(m.n * 64);
      const file = Buffer.alloc(m.n * line, 0x20);
      for (let i = 0; i < m.n; i++) {
        file.write(keys.toString('hex', i * 64, i * 64 + 32), i * line + 11, 'latin1');
        file.write(keys.toString('hex', i * 64 + 32, i * 64 + 64), i * line + 76, 'latin1');
        file[i * line + line - 1] = 0x0a;
      }
      const room = Buffer.alloc(32);
      global.gc?.();
      const rss0 = process.memoryUsage().rss;
      const heap0 = heap();
      for (let i = 0; i < m.n; i++) {
        room.writeUInt32BE(Math.floor(i / m.roomSize), 0);
        const j = dp.join(room, m.profile, keys.subarray(i * 64, i * 64 + 32), keys.subarray(i * 64 + 32, i * 64 + 64));
        if (typeof j === 'string') throw new Error(`join ${i}: ${j}`);
        for (let d = 9, v = j.session; d >= 0; d--, v = Math.floor(v / 10)) file[i * line + d] = 0x30 + (v % 10);
      }
      writeFileSync(m.file, file);
      const footprint = dp.core instanceof NativeCellCore ? dp.core.sessionFootprint : 0;
      send({ port: dp.udpPort, rss0, heap0, footprint });
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
