/**
 * Must-show 2 of issue 13, the delivery invariant in cluster mode: two relay nodes (real CLI child
 * processes) on one Redis (AOF, appendfsync always). 4 000 concurrent posts go to node A;
 * - node A is killed with SIGKILL mid-burst: every envelope that got a 202 reaches the readers
 *   live on node B (through the mailbox bus, or the resync timer for a hint A died before sending),
 *   and no reader is sent an envelope twice (each acknowledges what it gets at once);
 * - redis-server is killed with SIGKILL mid-burst and restarted on its AOF: every 202 is read back
 *   through node B. Posts made while Redis is down are refused (503 store_unavailable), not lost.
 * Posts whose connection died are "unknown" to the client: not counted as acknowledged.
 */
import { rmSync } from 'node:fs';
import { Agent, setGlobalDispatcher } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { generateMailboxKeys } from '../../src/client/index.js';
import { spawnRelay, type ChildRelay } from '../helpers/child-relay.js';
import { connectLiveReader, type LiveReader } from '../helpers/live-reader.js';
import { until } from '../helpers/raw-reader.js';
import { startRedis } from '../helpers/redis-server.js';
import { postBurst as burst } from '../helpers/post-burst.js';
import { tempDir } from '../helpers/relay.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function nodeFlags(redisUrl: string): string[] {
  const dataDir = tempDir();
  dirs.push(dataDir);
  return ['--data-dir', dataDir, '--store', 'redis', '--redis-url', redisUrl, '--redis-resync-interval-sec', '2', '--envelope-post-rate-per-sec', '100000', '--envelope-post-burst', '100000'];
}

async function stop(relay: ChildRelay): Promise<void> {
  if (relay.proc.exitCode !== null || relay.proc.signalCode !== null) return;
  relay.proc.kill('SIGTERM');
  await relay.exited;
}

function duplicates(readers: LiveReader[]): string[] {
  const out: string[] = [];
  for (const r of readers) {
    const seen = new Set<string>();
    for (const { id } of r.received) if (seen.has(id)) out.push(id);
    else seen.add(id);
  }
  return out;
}

describe('delivery invariant in cluster mode (two nodes, one Redis)', () => {
  it('SIGKILL of node A mid-burst: every 202 reaches the readers live on node B, none twice', async () => {
    setGlobalDispatcher(new Agent({ connections: 64 }));
    const redis = await startRedis();
    const a = await spawnRelay(nodeFlags(redis.url));
    const b = await spawnRelay(nodeFlags(redis.url));
    const readers: LiveReader[] = [];
    try {
      const boxes = await Promise.all([1, 2, 3, 4].map(() => generateMailboxKeys()));
      for (const box of boxes) readers.push(await connectLiveReader(b.url, box));
      await new Promise((r) => setTimeout(r, 300)); // the subscriptions go live (a post before that is read anyway)
      let killed = false;
      const result = await burst(a.url, boxes, 4000, 64, (n) => {
        if (n === 1500 && !killed) {
          killed = true;
          a.proc.kill('SIGKILL');
        }
      });
      expect((await a.exited).signal).toBe('SIGKILL');
      expect(result.unknown).toBeGreaterThan(0); // the kill really landed mid-burst
      const received = (): Set<string> => new Set(readers.flatMap((r) => r.received.map((e) => e.id)));
      const started = performance.now();
      await until(() => {
        const got = received();
        return [...result.acked.keys()].every((id) => got.has(id));
      }, 30_000).catch(() => undefined);
      const got = received();
      const lost = [...result.acked.keys()].filter((id) => !got.has(id));
      console.log(`node A killed: ${result.acked.size} answered 202, ${result.unknown} unanswered, refused ${JSON.stringify(Object.fromEntries(result.refused))}; readers on B got ${got.size} (all 202s within ${(performance.now() - started).toFixed(0)} ms of the burst's end), ${lost.length} lost, ${duplicates(readers).length} duplicates`);
      expect(lost).toEqual([]);
      expect(duplicates(readers)).toEqual([]);
      expect(got.size - result.acked.size).toBeLessThanOrEqual(result.unknown);
    } finally {
      await Promise.all(readers.map((r) => r.close()));
      await stop(a);
      await stop(b);
      await redis.stop();
    }
  }, 120_000);

  it('SIGKILL of redis-server mid-burst, restarted on its AOF: every 202 is read back through node B', async () => {
    setGlobalDispatcher(new Agent({ connections: 64 }));
    const redis = await startRedis();
    const a = await spawnRelay(nodeFlags(redis.url));
    const b = await spawnRelay(nodeFlags(redis.url));
    const reader: LiveReader[] = [];
    try {
      const boxes = await Promise.all([1, 2, 3, 4].map(() => generateMailboxKeys()));
      let restarting: Promise<void> | undefined;
      const result = await burst(a.url, boxes, 4000, 64, (n) => {
        if (n === 1500 && restarting === undefined) {
          restarting = redis.kill9().then(() => new Promise((r) => setTimeout(r, 300))).then(() => redis.restart());
        }
      });
      await restarting;
      expect(result.refused.get(503) ?? 0).toBeGreaterThan(0); // the kill really landed mid-burst
      for (const box of boxes) reader.push(await connectLiveReader(b.url, box));
      const received = (): Set<string> => new Set(reader.flatMap((r) => r.received.map((e) => e.id)));
      await until(() => {
        const got = received();
        return [...result.acked.keys()].every((id) => got.has(id));
      }, 30_000).catch(() => undefined);
      const got = received();
      const lost = [...result.acked.keys()].filter((id) => !got.has(id));
      console.log(`redis killed and restarted on its AOF: ${result.acked.size} answered 202, ${result.unknown} unanswered, refused ${JSON.stringify(Object.fromEntries(result.refused))}; read back through B: ${got.size}, ${lost.length} lost, ${duplicates(reader).length} duplicates`);
      expect(lost).toEqual([]);
      expect(duplicates(reader)).toEqual([]);
      // Beyond the 202s: posts stored whose answer was a 503 (the reply, not the write, was lost).
      expect(got.size - result.acked.size).toBeLessThanOrEqual(result.unknown + (result.refused.get(503) ?? 0));
    } finally {
      await Promise.all(reader.map((r) => r.close()));
      await stop(a);
      await stop(b);
      await redis.stop();
    }
  }, 120_000);
});
