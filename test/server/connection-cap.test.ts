/**
 * The global connection bound (http.maxConnections, Node's server.maxConnections) beside the
 * per-address one: past it a new TCP connection is closed at once, and a freed place is taken again.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';

let relay: TestRelay;

beforeAll(async () => {
  relay = await startTestRelay({ http: { maxConnections: 3 } }, { logLevel: 'warn' });
});
afterAll(() => relay.dispose());

/** Opens a TCP connection and reports whether the relay kept it for `holdMs` (it sends nothing). */
async function openAndWatch(holdMs: number): Promise<{ socket: Socket; kept: boolean }> {
  const socket = connect(Number(new URL(relay.url).port), '127.0.0.1');
  socket.on('error', () => undefined);
  await new Promise<void>((r) => socket.once('connect', () => r()));
  const closed = new Promise<boolean>((r) => socket.once('close', () => r(true)));
  const kept = !(await Promise.race([closed, new Promise<boolean>((r) => setTimeout(() => r(false), holdMs))]));
  return { socket, kept };
}

describe('http.maxConnections', () => {
  it('closes connections past the global bound; a freed place is taken again', async () => {
    const held = [await openAndWatch(200), await openAndWatch(200), await openAndWatch(200)];
    expect(held.map((h) => h.kept)).toEqual([true, true, true]);
    const over = await openAndWatch(2000);
    expect(over.kept).toBe(false);
    held[0]!.socket.destroy();
    await new Promise((r) => setTimeout(r, 100));
    const again = await openAndWatch(200);
    expect(again.kept).toBe(true);
    for (const h of [...held, again]) h.socket.destroy();
    // Once the relay has seen those closes, requests are served again.
    const health = (): Promise<number> => fetch(`${relay.url}/healthz`, { signal: AbortSignal.timeout(1000) }).then((r) => r.status, () => 0);
    await expect.poll(health, { timeout: 10_000, interval: 200 }).toBe(200);
  });
});
