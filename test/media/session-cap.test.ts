/**
 * Media sessions per client address (media.maxSessionsPerAddress): one address cannot hold all of
 * the relay's sessions; past its cap a join is 429 rate_limited before any key work, and a slot
 * comes back when one of its sessions closes.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallClient } from '../../src/client/call/call-client.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';

let relay: TestRelay;

beforeAll(async () => {
  relay = await startTestRelay({ media: { enabled: true, udpPort: 0, maxSessionsPerAddress: 2 } }, { logLevel: 'warn' });
});
afterAll(() => relay.dispose());

const codeOf = (p: Promise<unknown>): Promise<string> => p.then(() => 'joined', (e: { code?: string }) => e.code ?? String(e));

describe('media sessions per address', () => {
  it('past the cap: rate_limited; a closed session gives its slot back', async () => {
    const secret = randomBytes(32);
    const a = await CallClient.join({ relay: relay.url, callSecret: secret, transport: 'ws', profile: 'audio' });
    const b = await CallClient.join({ relay: relay.url, callSecret: randomBytes(32), transport: 'ws', profile: 'audio' });
    expect(await codeOf(CallClient.join({ relay: relay.url, callSecret: randomBytes(32), transport: 'ws', profile: 'audio' }))).toBe('rate_limited');
    expect(relay.metric('xrelay_media_joins_total{result="rate_limited"}')).toBe(1);
    await a.leave(); // an explicit leave closes the session on the relay
    await expect.poll(() => relay.media!.core.sessionCount, { timeout: 5000 }).toBe(1);
    const c = await CallClient.join({ relay: relay.url, callSecret: secret, transport: 'ws', profile: 'audio' });
    expect(relay.media!.core.sessionCount).toBe(2);
    await b.leave();
    await c.leave();
  });
});
