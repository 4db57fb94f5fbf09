/**
 * `xrelay load --relay URL,URL`: the list parses, clients are spread round robin over the nodes (each
 * given the whole list from its node on), and an envelope storm over two nodes sharing one Redis
 * posts and reads through both, nothing lost.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLoadArgs } from '../../src/load/options.js';
import { parseRelayList, relaysFor } from '../../src/load/relay-list.js';
import { runEnvelopeStorm } from '../../src/load/envelope-storm.js';
import { startRedis, type RedisProcess } from '../helpers/redis-server.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';

describe('relay lists', () => {
  it('parses one or more http(s) URLs; refuses a bad or repeated one with bad_value', () => {
    expect(parseLoadArgs(['--relay', 'http://127.0.0.1:1,https://h.test/x']).relay).toEqual(['http://127.0.0.1:1', 'https://h.test/x']);
    expect(parseLoadArgs(['--relay', 'http://127.0.0.1:1']).relay).toEqual(['http://127.0.0.1:1']);
    expect(parseRelayList(' http://a.test , http://b.test ')).toEqual(['http://a.test', 'http://b.test']);
    for (const bad of ['http://a.test,ftp://b.test', 'http://a.test,http://a.test', ',', 'http://a.test,nope']) {
      expect(() => parseLoadArgs(['--relay', bad])).toThrow(expect.objectContaining({ code: 'bad_value' }));
    }
  });

  it('gives client i the whole list starting at node i mod n: n clients start on n different nodes', () => {
    const urls = ['a', 'b', 'c'];
    expect(relaysFor(urls, 0)).toEqual(['a', 'b', 'c']);
    expect(relaysFor(urls, 1)).toEqual(['b', 'c', 'a']);
    expect(relaysFor(urls, 5)).toEqual(['c', 'a', 'b']);
    const firsts = Array.from({ length: 6 }, (_, i) => relaysFor(urls, i)[0]);
    expect(firsts.filter((u) => u === 'a')).toHaveLength(2);
    expect(firsts.filter((u) => u === 'b')).toHaveLength(2);
    expect(relaysFor(['only'], 7)).toEqual(['only']);
  });
});

describe('envelope storm over two nodes', () => {
  let redis: RedisProcess;
  let a: TestRelay;
  let b: TestRelay;
  beforeAll(async () => {
    redis = await startRedis();
    const file = { store: 'redis', redis: { url: redis.url }, envelope: { postRatePerSec: 1_000_000, postBurst: 1_000_000 } };
    a = await startTestRelay(file, { logLevel: 'warn' });
    b = await startTestRelay(file, { logLevel: 'warn' });
  }, 30_000);
  afterAll(async () => {
    await a?.dispose();
    await b?.dispose();
    await redis?.stop();
  });

  it('posts and reads through both nodes; every accepted post is read', async () => {
    const r = await runEnvelopeStorm([a.url, b.url], { mailboxes: 4, connections: 4, bucketBytes: 256 }, 2000);
    const [onA, onB] = [a.metric('xrelay_envelopes_stored_total'), b.metric('xrelay_envelopes_stored_total')];
    console.log(`storm over two nodes: ${r.posts.accepted} accepted (${onA} stored through A, ${onB} through B), ${r.reads.received} read`);
    expect(onA).toBeGreaterThan(0);
    expect(onB).toBeGreaterThan(0);
    expect(onA + onB).toBeGreaterThanOrEqual(r.posts.accepted);
    expect(r.posts.errors).toBe(0);
    expect(r.reads.received).toBeGreaterThanOrEqual(r.posts.accepted);
    expect(r.consistent).toBe(true);
  }, 40_000);
});
