/**
 * Two relays configured with `store: redis` on one Redis (issue 13, first slice): an envelope posted
 * through relay A is read and acknowledged through relay B, and the acknowledgement deletes it for
 * both; a reader that connects after the post gets it from the shared store (a reader already
 * connected to B when A takes the post: live-across-nodes.test.ts). A Redis without durable writes
 * fails the start with store_not_durable instead of serving 202s it cannot keep.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailboxReader, generateMailboxKeys, postEnvelope, sealEnvelope, type ReceivedEnvelope } from '../../src/client/index.js';
import { startRedis, type RedisProcess } from '../helpers/redis-server.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';

let redis: RedisProcess;
let a: TestRelay;
let b: TestRelay;

beforeAll(async () => {
  redis = await startRedis();
  const file = { store: 'redis', redis: { url: redis.url } };
  a = await startTestRelay(file, { logLevel: 'warn' });
  b = await startTestRelay(file, { logLevel: 'warn' });
}, 30_000);
afterAll(async () => {
  await a?.dispose();
  await b?.dispose();
  await redis?.stop();
});

describe('relays sharing mailboxes through Redis', () => {
  it('a post answered 202 by one relay is read through the other; the ack deletes it for both', async () => {
    const bob = await generateMailboxKeys();
    const { id } = await postEnvelope(a.url, bob.mailboxId, sealEnvelope(bob.publicKey, { kind: 'chat', body: new Uint8Array([7]) }));
    const reader = new MailboxReader({ relayUrl: b.url, keys: bob });
    const got = new Promise<ReceivedEnvelope>((resolve) => reader.once('envelope', resolve));
    await reader.connect();
    expect((await got).id).toBe(id);
    reader.ack([id]);
    await expect.poll(() => a.envelope.service.storeStats()?.envelopes, { timeout: 5000 }).toBe(0);
    reader.close();

    const again = new MailboxReader({ relayUrl: a.url, keys: bob });
    let redelivered = 0;
    again.on('envelope', () => redelivered++);
    await again.connect();
    await new Promise((r) => setTimeout(r, 200));
    expect(redelivered).toBe(0);
    again.close();
  });

  it('a Redis without appendfsync always fails the start with store_not_durable', async () => {
    const lax = await startRedis({ args: ['--appendonly', 'no'] });
    try {
      await expect(startTestRelay({ store: 'redis', redis: { url: lax.url } }, { logLevel: 'silent' })).rejects.toMatchObject({ code: 'store_not_durable' });
    } finally {
      await lax.stop();
    }
  });
});
