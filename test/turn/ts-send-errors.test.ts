// The TypeScript data path counts a send the kernel refuses (a Data indication too long for IPv4 UDP:
// EMSGSIZE) in xrelay_turn_send_errors_total and logs nothing per packet. Real sockets on loopback.
// (The native path's count of the same refusal is in native-metrics.test.ts.) XRELAY_NATIVE=1 forces
// the native path on every plane, so the file has nothing to test then.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Method, StunClass } from '../../src/turn/codec/index.js';
import type { PlaneContext } from '../../src/host/plane.js';
import type { TurnPlane } from '../../src/turn/server/turn-plane.js';
import { startTestTurn } from './helpers/plane.js';
import { allocateRelay, parse, peer, request } from './helpers/stun-client.js';
import { peerSocket, udpClient } from './helpers/wire.js';

describe.skipIf(process.env.XRELAY_NATIVE === '1')('TypeScript TURN path', () => {
  let plane: TurnPlane;
  let ctx: PlaneContext;
  let logs = '';
  beforeAll(async () => {
    const sink = new Writable({
      write(chunk, _enc, cb) {
        logs += String(chunk);
        cb();
      },
    });
    ({ plane, ctx } = await startTestTurn({ dataPlane: 'typescript' }, sink));
  });
  afterAll(() => plane.close());

  const metric = (name: string): number => Number(ctx.metrics.render().split('\n').find((l) => l.startsWith(name + ' '))?.slice(name.length + 1) ?? NaN);

  it('an oversized Data indication is a counted send error, not a log line per packet', async () => {
    const c = await udpClient(plane.udpPort);
    const p = await peerSocket();
    try {
      const { creds, relayPort } = await allocateRelay(c, 'alice', 'secret1');
      expect(parse(await c.call(request(Method.createPermission, [peer('127.0.0.1', p.port)], creds))).cls).toBe(StunClass.success);
      const before = metric('xrelay_turn_send_errors_total');
      // 65 471 bytes relay (the cap), but 20 + 12 + 4 + 65 472 = 65 508 bytes exceed IPv4's 65 507.
      for (let i = 0; i < 3; i++) p.socket.send(Buffer.alloc(65_471, 1), relayPort, '127.0.0.1');
      await expect.poll(() => metric('xrelay_turn_send_errors_total') - before, { timeout: 5000 }).toBe(3);
      expect(logs).not.toContain('socket error');
    } finally {
      await c.close();
      await p.close();
    }
  });
});
