/** The envelope storm on a short leash: autocannon posts, authenticated readers drain, nothing is lost. */
import { describe, expect, it } from 'vitest';
import { runEnvelopeStorm } from '../../src/load/envelope-storm.js';
import { hostRelay } from '../../src/load/relay-host.js';

describe('envelope storm', () => {
  it('every accepted post is read by its mailbox reader', async () => {
    const relay = await hostRelay({ envelope: { postRatePerSec: 1_000_000, postBurst: 1_000_000 } });
    try {
      const r = await runEnvelopeStorm(relay.url, { mailboxes: 4, connections: 4, bucketBytes: 256 }, 2000);
      console.log(`storm: ${r.posts.accepted} accepted at ${r.posts.perSec.toFixed(0)}/s, ${r.reads.received} read, post→read p99 ${r.reads.latencyMs.p99.toFixed(1)} ms`);
      expect(r.posts.accepted).toBeGreaterThan(10);
      expect(r.posts.errors).toBe(0);
      expect(r.reads.received).toBeGreaterThanOrEqual(r.posts.accepted);
      expect(r.reads.received).toBeLessThanOrEqual(r.posts.accepted + r.inFlightAtStop);
      expect(r.consistent).toBe(true);
    } finally {
      await relay.close();
    }
  }, 30_000);
});
