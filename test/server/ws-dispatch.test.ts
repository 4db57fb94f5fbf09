/**
 * The router's WebSocket dispatch alone: a route that adds no listener of its own survives every
 * protocol violation (the router's 'error' listener counts it, ws closes with the RFC 6455 code),
 * and a route whose handler throws closes its socket with 1011 instead of ending the process.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/log.js';
import { MetricsRegistry } from '../../src/observability/metrics.js';
import { HttpRouter } from '../../src/host/http-router.js';
import { clientFrame, rawUpgrade } from '../helpers/raw-ws.js';
import { openRaw } from '../helpers/ws.js';

let server: Server;
/** The router's own protocol-error counter, as /metrics shows it. */
const wsErrors = (code: string): number => {
  const line = metrics.render().split('\n').find((l) => l.startsWith(`xrelay_ws_protocol_errors_total{code="${code}"} `));
  return line === undefined ? 0 : Number(line.split(' ')[1]);
};
let url: string;
const metrics = new MetricsRegistry();

beforeAll(async () => {
  const router = new HttpRouter(createLogger({ level: 'silent', posture: 'private' }), metrics, 1024);
  router.websocket('/bare', () => undefined); // no listener at all
  router.websocket('/throws', () => {
    throw new Error('handler bug');
  });
  server = createServer((req, res) => router.handle(req, res));
  server.on('upgrade', (req, socket, head) => router.handleUpgrade(req, socket, head));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

describe('router WebSocket dispatch', () => {
  it('a route with no error listener survives an unmasked frame and one over maxPayload', async () => {
    for (const [bytes, code, wsCode] of [
      [Buffer.from('820568656c6c6f', 'hex'), 1002, 'WS_ERR_EXPECTED_MASK'],
      [clientFrame(2, Buffer.alloc(2000)), 1009, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'],
    ] as const) {
      const raw = await rawUpgrade(url, '/bare');
      raw.write(bytes);
      await expect.poll(() => raw.frames().some((f) => f.opcode === 8)).toBe(true);
      raw.socket.destroy();
      expect((await raw.ended).closeCode).toBe(code);
      expect(wsErrors(wsCode)).toBe(1);
    }
    const honest = await openRaw(url, '/bare'); // the same process still accepts
    honest.ws.close();
  });

  it('a handler that throws closes its socket with 1011', async () => {
    const s = await openRaw(url, '/throws');
    expect(await s.closed).toEqual({ code: 1011, reason: 'internal' });
  });
});
