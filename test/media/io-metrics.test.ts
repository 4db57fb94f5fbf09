/**
 * The data plane's own counters in /metrics, through the media plane's wiring, on real sockets: a
 * two-party UDP call, then the scrape. Both planes export unroutable cells; the native one also
 * its I/O thread's counters (send drops by reason, send-buffer waits, kernel receive-queue drops,
 * recvmmsg/sendmmsg batches), which the TypeScript plane does not have and does not show.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { joinAll, leaveAll, talk } from './call-helpers.js';
import { startTestRelay, type TestRelay } from './harness.js';
import { testPlane } from './plane-select.js';

let relay: TestRelay;
beforeAll(async () => {
  relay = await startTestRelay();
});
afterAll(async () => {
  await relay.close();
});

/** Every sample line of /metrics, name{labels} -> value. */
function scrape(): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of relay.metrics.render().split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

describe('media data plane I/O counters in /metrics', () => {
  it(`a UDP call's data plane counters reach /metrics (${testPlane()} plane)`, async () => {
    const parties = await joinAll(2, { relay: relay.url, transport: 'udp' });
    await talk(parties, 10, 20);
    await leaveAll(parties);
    const m = scrape();
    expect(m.get('xrelay_media_cells_unroutable_total')).toBe(0);
    const native = [...m.keys()].filter((k) => k.startsWith('xrelay_media_native_'));
    if (testPlane() === 'typescript') {
      expect(native).toEqual([]);
      return;
    }
    expect(native.sort()).toEqual([
      'xrelay_media_native_io_batches_total{call="recvmmsg"}',
      'xrelay_media_native_io_batches_total{call="sendmmsg"}',
      'xrelay_media_native_kernel_drops_total',
      'xrelay_media_native_send_dropped_total{reason="error"}',
      'xrelay_media_native_send_dropped_total{reason="would_block"}',
      'xrelay_media_native_send_waits_total',
    ]);
    // Each party's cells came in and went out through the native thread's batches; 2 parties at 50
    // cells/s never fill a loopback socket's queues or refuse a send.
    expect(m.get('xrelay_media_native_io_batches_total{call="recvmmsg"}')).toBeGreaterThan(0);
    expect(m.get('xrelay_media_native_io_batches_total{call="sendmmsg"}')).toBeGreaterThan(0);
    expect(m.get('xrelay_media_native_send_dropped_total{reason="error"}')).toBe(0);
    expect(m.get('xrelay_media_native_send_dropped_total{reason="would_block"}')).toBe(0);
    expect(m.get('xrelay_media_native_send_waits_total')).toBe(0);
    expect(m.get('xrelay_media_native_kernel_drops_total')).toBe(0);
    // The scrape follows the native counters (read at scrape time, not cached).
    const io = (relay.plane.core as unknown as { ioStats(): { recvBatches: number; sendBatches: number } }).ioStats();
    const again = scrape();
    expect(again.get('xrelay_media_native_io_batches_total{call="recvmmsg"}')).toBeGreaterThanOrEqual(io.recvBatches);
    expect(again.get('xrelay_media_native_io_batches_total{call="sendmmsg"}')).toBeGreaterThanOrEqual(io.sendBatches);
  });
});
