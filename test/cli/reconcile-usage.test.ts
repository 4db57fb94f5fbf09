/**
 * `xrelay reconcile-usage` (the real CLI, a child process) against a real redis-server: the
 * store-wide counter, pushed off by hand as a crashed Cluster node's reservation would leave it, is
 * recounted from the mailboxes' own counters; on the LMDB store the command is a usage mistake (exit 2).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateMailboxKeys, postEnvelope, sealEnvelope } from '../../src/client/index.js';
import { CLI } from '../helpers/child-relay.js';
import { startRedis, type RedisProcess } from '../helpers/redis-server.js';
import { startTestRelay } from '../helpers/relay.js';

const run = promisify(execFile);
let redis: RedisProcess;

beforeAll(async () => {
  redis = await startRedis();
}, 30_000);
afterAll(async () => {
  await redis?.stop();
});

describe('xrelay reconcile-usage', () => {
  it('recounts the global usage counter from every mailbox on Redis', async () => {
    const relay = await startTestRelay({ store: 'redis', redis: { url: redis.url } }, { logLevel: 'warn' });
    let bytes = 0;
    try {
      for (let i = 0; i < 3; i++) {
        const keys = await generateMailboxKeys();
        const sealed = sealEnvelope(keys.publicKey, { kind: 'chat', body: new Uint8Array([i]) });
        await postEnvelope(relay.url, keys.mailboxId, sealed);
        bytes += sealed.length;
      }
    } finally {
      await relay.dispose();
    }
    // What a node dying between its reservation and its write leaves behind: the counter too high.
    await run('redis-cli', ['-p', String(redis.port), 'HSET', 'xr:{global}:u', 'c', '1000', 'b', '9999999']);
    const { stdout } = await run(process.execPath, [CLI, 'reconcile-usage', '--store', 'redis', '--redis-url', redis.url]);
    const result = JSON.parse(stdout) as { before: { envelopes: number; bytes: number }; after: { envelopes: number; bytes: number } };
    expect(result.before).toEqual({ envelopes: 1000, bytes: 9999999 });
    expect(result.after).toEqual({ envelopes: 3, bytes });
    const { stdout: now } = await run('redis-cli', ['-p', String(redis.port), 'HMGET', 'xr:{global}:u', 'c', 'b']);
    expect(now.trim().split('\n')).toEqual(['3', String(bytes)]);
  }, 60_000);

  it('on the LMDB store it is a usage mistake: exit 2, naming the store field', async () => {
    const err = await run(process.execPath, [CLI, 'reconcile-usage', '--store', 'lmdb']).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).toBe(2);
    expect(err?.stderr).toMatch(/config error: .*store/);
  });
});
