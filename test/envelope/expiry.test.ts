/** TTL expiry through the real store and relay, with the plane's clock injected (no waiting a week). */
import { describe, expect, it } from 'vitest';
import { generateMailboxKeys, MailboxReader, postEnvelope } from '../../src/client/index.js';
import { startTestRelay } from '../helpers/relay.js';

describe('envelope expiry', () => {
  it('deletes envelopes older than the TTL and keeps younger ones; a restart keeps the count right', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const relay = await startTestRelay({ envelope: { ttlSec: 3600 } }, { envelope: { now: () => now } });
    const keys = await generateMailboxKeys();
    try {
      const old = await postEnvelope(relay.url, keys.mailboxId, new Uint8Array(256));
      now += 1800_000;
      const young = await postEnvelope(relay.url, keys.mailboxId, new Uint8Array(1024));
      now += 1800_001; // the first is now past its TTL, the second is not
      expect(await relay.envelope.service.expire()).toBe(1);
      expect(relay.metric('xrelay_envelopes_expired_total')).toBe(1);
      expect(relay.envelope.service.storeStats()).toEqual({ envelopes: 1, bytes: 1024 });

      const reader = new MailboxReader({ relayUrl: relay.url, keys });
      const got: string[] = [];
      reader.on('envelope', (e) => got.push(e.id));
      await reader.connect();
      await expect.poll(() => got.length).toBe(1);
      expect(got).toEqual([young.id]);
      expect(got).not.toContain(old.id);
      reader.close();

      now += 3600_000;
      expect(await relay.envelope.service.expire()).toBe(1);
      expect(relay.envelope.service.storeStats()).toEqual({ envelopes: 0, bytes: 0 });
    } finally {
      await relay.dispose();
    }
  });
});
