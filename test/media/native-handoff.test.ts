/**
 * The native data plane's hand-off of WebSocket cells to JS is bounded: while the JS thread is
 * blocked, the I/O thread keeps ticking; past 32 batches not yet taken it drops a tick's WebSocket
 * cells (counted in xrelay_media_ws_backpressure_drops_total) instead of queueing without end, and
 * the call goes on once JS is back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAllDelivered, joinAll, leaveAll, talk } from './call-helpers.js';
import { sleep, startTestRelay, type TestRelay } from './harness.js';
import { testPlane } from './plane-select.js';

const native = testPlane() === 'native';
let relay: TestRelay;
beforeAll(async () => {
  if (native) relay = await startTestRelay();
});
afterAll(async () => {
  if (native) await relay.close();
});

describe.runIf(native)('native hand-off of WebSocket cells to JS', () => {
  it('a JS stall of 2 s (100 ticks) drops the cells past 32 pending batches, counted; the call then delivers again', async () => {
    const parties = await joinAll(2, { relay: relay.url, transport: 'ws' });
    await sleep(200);
    const before = relay.metric('xrelay_media_ws_backpressure_drops_total');
    const t0 = performance.now();
    while (performance.now() - t0 < 2000) {
      // the JS thread is busy: the native thread ticks on
    }
    await sleep(300);
    const dropped = relay.metric('xrelay_media_ws_backpressure_drops_total') - before;
    console.log(`[native hand-off] JS blocked 2000 ms (100 ticks of 20 ms, 2 WebSocket sessions): ${dropped} cells dropped in the thread (expected ~2 x (100 - 32) when the thread gets its ticks)`);
    expect(dropped).toBeGreaterThan(2 * 10);
    expect(dropped).toBeLessThanOrEqual(2 * 105);
    await talk(parties, 20, 20);
    expect(expectAllDelivered(parties, 20)).toEqual([]);
    await leaveAll(parties);
  });
});
