/**
 * Bounds of the /v1/media/cells WebSocket (issue 9 audit): at most media.wsMaxPerAddress open per
 * client address (more are closed with 4429 `rate_limited` and counted), and a socket that carries
 * no accepted cell for media.idleTimeoutMs is closed with 4408 `idle_timeout`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startTestRelay, type TestRelay } from './harness.js';

let relay: TestRelay | undefined;
afterEach(async () => {
  await relay?.close();
  relay = undefined;
});

function connect(url: string): { ws: WebSocket; closed: Promise<{ code: number; reason: string; atMs: number }>; opened: Promise<void> } {
  const ws = new WebSocket(url.replace('http', 'ws') + '/v1/media/cells');
  ws.on('error', () => undefined);
  const closed = new Promise<{ code: number; reason: string; atMs: number }>((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString(), atMs: performance.now() })));
  const opened = new Promise<void>((r) => ws.once('open', () => r()));
  return { ws, closed, opened };
}

describe('/v1/media/cells bounds', () => {
  it('a third socket from one address past wsMaxPerAddress=2 is closed with 4429 rate_limited and counted; closing one frees a place', async () => {
    relay = await startTestRelay({ wsMaxPerAddress: 2 });
    const a = connect(relay.url);
    const b = connect(relay.url);
    await Promise.all([a.opened, b.opened]);
    const c = connect(relay.url);
    const cc = await c.closed;
    expect(cc.code).toBe(4429);
    expect(cc.reason).toBe('rate_limited');
    expect(relay.metric('xrelay_media_ws_refused_total')).toBe(1);
    a.ws.close();
    await a.closed;
    const d = connect(relay.url);
    await d.opened;
    expect(d.ws.readyState).toBe(WebSocket.OPEN);
    b.ws.close();
    d.ws.close();
    await Promise.all([b.closed, d.closed]);
  });

  it('a socket that sends no valid cell is closed with 4408 idle_timeout after media.idleTimeoutMs', async () => {
    relay = await startTestRelay({ idleTimeoutMs: 300 });
    const a = connect(relay.url);
    await a.opened;
    const t0 = performance.now();
    a.ws.send(Buffer.alloc(188), { binary: true }); // garbage: not an accepted cell
    const c = await a.closed;
    const ms = c.atMs - t0;
    console.log(`[cells ws idle] closed after ${ms.toFixed(0)} ms (idleTimeoutMs 300, sweep every 150 ms)`);
    expect(c.code).toBe(4408);
    expect(c.reason).toBe('idle_timeout');
    expect(ms).toBeGreaterThanOrEqual(250);
    expect(ms).toBeLessThan(5000);
  });
});
