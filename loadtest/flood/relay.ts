/**
 * The relay side of the flood benchmark (bench.ts), in its own process so its CPU is its own: one
 * data plane on a loopback port with one 1:1 call (two sessions joined directly with random hop
 * keys), driven over IPC.
 *
 *   relay.js native|typescript guard|noguard <recvBufferBytes|default> connected|shared
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { DEFAULT_PROFILES, parseProfiles } from '../../src/media/codec/profiles.js';
import { DROP_REASONS } from '../../src/media/core/media-core.js';
import type { DataPlane, DataPlaneOptions } from '../../src/media/dataplane/data-plane.js';
import { loadNativeAddon } from '../../src/native/addon.js';
import { startNativeDataPlane } from '../../src/media/dataplane/native-data-plane.js';
import { startTsDataPlane } from '../../src/media/dataplane/ts-data-plane.js';
import { relaySchema } from '../../src/config/schema.js';

type Msg = { cmd: 'join'; file: string } | { cmd: 'usage' } | { cmd: 'close' };

async function main(): Promise<void> {
  const [kind, guard, rcvbuf, paths] = process.argv.slice(2);
  const profiles = parseProfiles(DEFAULT_PROFILES);
  if (typeof profiles === 'string') throw new Error(profiles);
  const media = relaySchema.media;
  const opts: DataPlaneOptions = {
    core: { profiles, roomCap: 50, maxSessions: 1000, queueRecords: 16, queueMaxAgeMs: 200, idleTimeoutMs: 10_000, random16: () => 1 + Math.floor(Math.random() * 0xfffe) },
    host: '127.0.0.1',
    udpPort: 0,
    onClosed: () => undefined,
    // The relay's defaults (src/config/media-options.ts) when on.
    ...(guard === 'guard' ? { floodGuard: { perSourcePerSec: media.unverifiedOpensPerSource.default, perSessionPerSec: media.unverifiedOpensPerSession.default, maxSources: 65_536 } } : {}),
    ...(rcvbuf !== undefined && rcvbuf !== 'default' ? { recvBufferBytes: Number(rcvbuf) } : {}),
    ...(paths === 'connected' ? { connectedPaths: 1000 } : {}),
  };
  let dp: DataPlane;
  if (kind === 'native') {
    const { addon, reason } = loadNativeAddon();
    if (addon === undefined) throw new Error(reason);
    dp = startNativeDataPlane(addon, opts);
  } else dp = await startTsDataPlane(opts);
  const send = (m: unknown): void => void process.send!(m);
  process.on('message', (m: Msg) => {
    if (m.cmd === 'join') {
      const room = randomBytes(32);
      const lines: string[] = [];
      for (let i = 0; i < 2; i++) {
        const rx = randomBytes(32);
        const tx = randomBytes(32);
        const j = dp.join(room, 'audio', rx, tx);
        if (typeof j === 'string') throw new Error(`join: ${j}`);
        lines.push(`${j.session} ${rx.toString('hex')} ${tx.toString('hex')}`);
      }
      writeFileSync(m.file, lines.join('\n') + '\n');
      send({ port: dp.udpPort, sessions: lines.map((l) => Number(l.split(' ')[0])) });
    } else if (m.cmd === 'usage') {
      const u = process.cpuUsage();
      const s = dp.core.stats;
      const drops = Object.fromEntries(DROP_REASONS.map((r, i) => [r, s.drops[i] ?? 0]).filter(([r, v]) => r !== '' && (v as number) > 0));
      const c = dp.counters();
      send({ cpuMs: (u.user + u.system) / 1000, sessions: dp.core.sessionCount, closes: [...s.closes], drops, missedTicks: s.missedTicks, staleDrops: s.staleDrops, kernelDrops: c.kernelDrops ?? c.native?.kernelDrops });
    } else {
      void dp.close().then(() => process.exit(0));
    }
  });
  send({ ready: true });
}

void main();
