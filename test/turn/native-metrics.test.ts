// The native TURN data path's own counters reach /metrics, on real loopback sockets: drops the
// native thread makes (no permission, both directions) under the TS path's names, a datagram the
// kernel refuses at send (a Data indication too long for IPv4: EMSGSIZE) in xrelay_turn_send_errors_total
// and xrelay_turn_native_send_dropped_total, hand-ups and syscall batches. Runs on the native path whatever
// XRELAY_NATIVE says (the suite runs once per path); skipped only when the addon is not built.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Method, StunClass } from '../../src/turn/codec/index.js';
import { NATIVE_TURN_STATS_LEN, loadNativeTurn, turnStat } from '../../src/turn/server/native-turn.js';
import type { TurnPlane } from '../../src/turn/server/turn-plane.js';
import type { PlaneContext } from '../../src/host/plane.js';
import { hasNative } from '../media/plane-select.js';
import { startTestTurn } from './helpers/plane.js';
import { allocateRelay, parse, peer, request, sendIndication } from './helpers/stun-client.js';
import { peerSocket, udpClient } from './helpers/wire.js';

/** Largest peer datagram relayed (MAX_RELAYED, kMaxRelayed): its Data indication is 65,508 bytes. */
const MAX_RELAYED = 0xffff - 64;
/** Largest UDP payload over IPv4. */
const IPV4_MAX_PAYLOAD = 65_507;
/** A Data indication over IPv4: header, XOR-PEER-ADDRESS (IPv4), DATA header and padded data. */
const dataIndicationBytes = (n: number): number => 20 + 12 + 4 + ((n + 3) & ~3);

let plane: TurnPlane;
let ctx: PlaneContext;

function metric(name: string): number | undefined {
  const line = ctx.metrics
    .render()
    .split('\n')
    .find((l) => l.startsWith(name + ' '));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

async function until(what: string, cond: () => boolean, deadlineMs = 5000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.skipIf(!hasNative)('native TURN data path: its counters in /metrics', () => {
  beforeAll(async () => {
    const saved = process.env.XRELAY_NATIVE;
    delete process.env.XRELAY_NATIVE;
    ({ plane, ctx } = await startTestTurn({ dataPlane: 'native' }).finally(() => {
      if (saved !== undefined) process.env.XRELAY_NATIVE = saved;
    }));
  });
  afterAll(async () => {
    await plane?.close();
  });

  it('native drops, a send the kernel refuses, hand-ups and batches show under their metric names', async () => {
    expect(plane.dataPlane).toBe('native');
    const c = await udpClient(plane.udpPort);
    const p = await peerSocket();
    try {
      const { creds, relayPort } = await allocateRelay(c, 'alice', 'secret1');

      // No permission yet: the native thread drops a plain Send indication and a peer datagram.
      const noPerm = metric('xrelay_turn_dropped_total{reason="no_permission"}') ?? 0;
      const jsNoPerm = plane.core.stats.dropped.no_permission;
      c.send(sendIndication('127.0.0.1', p.port, Buffer.from('before the permission')));
      p.socket.send(Buffer.from('unasked'), relayPort, '127.0.0.1');
      await until('two no_permission drops in /metrics', () => metric('xrelay_turn_dropped_total{reason="no_permission"}') === noPerm + 2);
      expect(plane.core.stats.dropped.no_permission).toBe(jsNoPerm); // dropped natively, never in JS

      // With a permission (no channel) a peer datagram goes back as a Data indication. One of
      // MAX_RELAYED bytes makes a Data indication too long for IPv4: the native sendmmsg gets EMSGSIZE
      // for it alone, and the next datagram still goes out.
      expect(parse(await c.call(request(Method.createPermission, [peer('127.0.0.1', p.port)], creds))).cls).toBe(StunClass.success);
      expect(dataIndicationBytes(MAX_RELAYED)).toBeGreaterThan(IPV4_MAX_PAYLOAD);
      const fits = MAX_RELAYED - 4;
      expect(dataIndicationBytes(fits)).toBeLessThanOrEqual(IPV4_MAX_PAYLOAD);
      const sendErrors = metric('xrelay_turn_send_errors_total')!;
      expect(metric('xrelay_turn_native_send_dropped_total{reason="error"}')).toBe(0);
      p.socket.send(Buffer.alloc(MAX_RELAYED, 1), relayPort, '127.0.0.1');
      p.socket.send(Buffer.alloc(fits, 2), relayPort, '127.0.0.1');
      const got = await c.inbox.next((b) => b.readUInt16BE(0) === 0x0017);
      expect(got.length).toBe(dataIndicationBytes(fits));
      expect(parse(got).data?.length).toBe(fits);
      await until('the refused send in /metrics', () => metric('xrelay_turn_native_send_dropped_total{reason="error"}') === 1);
      expect(metric('xrelay_turn_send_errors_total')).toBe(sendErrors + 1);
      expect(metric('xrelay_turn_native_send_dropped_total{reason="would_block"}')).toBe(0);

      // The requests went up to the TS core; datagrams moved in recvmmsg/sendmmsg batches.
      expect(metric('xrelay_turn_native_handed_up_total')).toBeGreaterThanOrEqual(3);
      expect(metric('xrelay_turn_native_io_batches_total{call="recvmmsg"}')).toBeGreaterThanOrEqual(3);
      expect(metric('xrelay_turn_native_io_batches_total{call="sendmmsg"}')).toBeGreaterThanOrEqual(1);
      expect(metric('xrelay_turn_native_send_waits_total')).toBe(0);
      expect(ctx.metrics.render()).not.toContain('127.0.0.1');
    } finally {
      await c.close();
      await p.close();
    }
  });

  it('a failed send the JS thread makes through native is left to its caller to count (not counted twice)', () => {
    // turn-plane.ts adds a failed sendToClient/sendToPeer to xrelay_turn_send_errors_total itself, then adds
    // the native thread's sendErrors: native must not count the same failure again.
    const { addon } = loadNativeTurn();
    const h = new addon!.NativeTurn(new Uint8Array(8));
    h.start('127.0.0.1', 0, 0, () => {});
    try {
      expect(h.sendToClient('::1', 9, Buffer.from('x'))).toBeLessThan(0); // an IPv6 address on an IPv4 socket
      expect(h.openRelay(1, '127.0.0.1', 0, '127.0.0.1', 9)).toBeGreaterThan(0);
      expect(h.sendToPeer(1, '::1', 9, Buffer.from('x'))).toBeLessThan(0); // an IPv6 peer from an IPv4 relay socket
      const st = new Float64Array(NATIVE_TURN_STATS_LEN);
      h.stats(st);
      expect(st[turnStat.sendErrors]).toBe(0);
    } finally {
      h.stop();
    }
  });
});
