/**
 * Mailbox authentications are rate-limited per client address before the key checks run (each costs
 * ~2 ms of CPU): past `envelope.authBurst` at `envelope.authRatePerSec` the reader is refused with
 * rate_limited (close 4429), counted in xrelay_mailbox_auth_total, and other addresses' readers and
 * posts are unaffected.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailboxReader, generateMailboxKeys } from '../../src/client/index.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';

let relay: TestRelay;

beforeAll(async () => {
  relay = await startTestRelay({ envelope: { authRatePerSec: 0.01, authBurst: 3 } }, { logLevel: 'warn' });
});
afterAll(() => relay.dispose());

/** Connects a reader of a fresh mailbox; resolves 'ready' or the code of the refusal. */
async function tryReader(): Promise<{ outcome: string; reader: MailboxReader }> {
  const reader = new MailboxReader({ relayUrl: relay.url, keys: await generateMailboxKeys(), reconnectMinMs: 60_000 });
  const refused = new Promise<string>((resolve) => reader.on('problem', (p) => resolve(p.code)));
  const outcome = await Promise.race([reader.connect().then(() => 'ready'), refused]);
  return { outcome, reader };
}

describe('mailbox authentication rate per address', () => {
  it('the burst authenticates; the next is refused rate_limited before its key is checked, and counted', async () => {
    const outcomes: string[] = [];
    const readers: MailboxReader[] = [];
    for (let i = 0; i < 5; i++) {
      const { outcome, reader } = await tryReader();
      outcomes.push(outcome);
      readers.push(reader);
    }
    for (const r of readers) r.close();
    expect(outcomes).toEqual(['ready', 'ready', 'ready', 'rate_limited', 'rate_limited']);
    expect(relay.metric('xrelay_mailbox_auth_total{result="ok"}')).toBe(3);
    expect(relay.metric('xrelay_mailbox_auth_total{result="rate_limited"}')).toBe(2);
  });
});
