/**
 * CallClient's rejoin on a silent relay, outside a cluster: its only relay goes away, the client
 * announces `reconnecting` after rejoinSilenceMs of silence, retries, and after rejoinTimeoutMs gives
 * up with `closed` (rejoin_failed, the last failure's code). The cluster case (kill -9 of a node,
 * placed again on the survivor) is test/cluster/rooms-failover.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CallClient, type CallClosed, type Reconnecting } from '../../src/client/call/call-client.js';
import { startTestRelay } from '../helpers/relay.js';

describe('rejoin on a silent relay', () => {
  it('announces reconnecting after the silence window, then closed once rejoinTimeoutMs has passed', async () => {
    const relay = await startTestRelay({ media: { enabled: true } }, { logLevel: 'warn' });
    const call = await CallClient.join({ relay: relay.url, callSecret: randomBytes(32), rejoinSilenceMs: 600, rejoinTimeoutMs: 1500 });
    const events: string[] = [];
    const reconnecting = new Promise<Reconnecting>((r) => call.once('reconnecting', (e) => (events.push('reconnecting'), r(e))));
    const closed = new Promise<CallClosed>((r) => call.once('closed', (e) => (events.push('closed'), r(e))));
    call.on('rejoined', () => events.push('rejoined'));
    await new Promise((r) => setTimeout(r, 200)); // cells flowing
    const stoppedAt = performance.now();
    await relay.dispose();
    const r = await reconnecting;
    const reconnectAfter = performance.now() - stoppedAt;
    expect(r.silentMs).toBeGreaterThanOrEqual(600);
    const c = await closed;
    const closedAfter = performance.now() - stoppedAt;
    console.log(`relay gone: reconnecting after ${reconnectAfter.toFixed(0)} ms (silent ${r.silentMs} ms), closed after ${closedAfter.toFixed(0)} ms`);
    expect(c).toEqual({ reason: 'rejoin_failed', code: 'network' });
    expect(events).toEqual(['reconnecting', 'closed']);
    expect(closedAfter).toBeGreaterThanOrEqual(600 + 1500 - 50); // the last cell may have come a moment before the relay stopped
    expect(closedAfter).toBeLessThan(600 + 1500 + 3000);
    expect(call.stats.rejoins).toBe(0);
  }, 20_000);
});
