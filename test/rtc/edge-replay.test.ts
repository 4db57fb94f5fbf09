// SRTP replays and forgeries at the WebRTC edge: a proxy in front of the relay records one member's
// SRTP packets and sends 20 of them again on the same 5-tuple: they authenticate (werift keeps no
// replay list) but the edge's replay guard drops and counts them. Then 3 copies with a flipped tag
// byte (counted bad_tag) and 4 datagrams that are neither DTLS nor RTP (counted garbage). The other
// member receives no duplicate and nothing forged, and the session keeps working.
import { createSocket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { EdgeClient, roomId, waitFor } from '../../loadtest/rtc/edge-client.js';

let relay: TestRelay;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  relay = await startTestRelay({ rtc: { enabled: true } });
});
afterAll(async () => {
  await relay.dispose();
});

describe('WebRTC edge: SRTP replays', () => {
  it('replayed and forged uplink packets are dropped and counted; no duplicate reaches the receiver', async () => {
    const front = createSocket('udp4');
    const up = createSocket('udp4');
    await new Promise<void>((r) => front.bind(0, '127.0.0.1', () => r()));
    await new Promise<void>((r) => up.bind(0, '127.0.0.1', () => r()));
    let relayPort = 0;
    let client: { port: number; address: string } | undefined;
    const recorded: Buffer[] = [];
    const isRtp = (m: Buffer): boolean => m[0]! >= 128 && m[0]! <= 191 && ((m[1]! & 0x7f) < 64 || (m[1]! & 0x7f) > 95); // RFC 5761 §4, RFC 7983
    front.on('message', (m, from) => {
      client = from;
      if (isRtp(m)) recorded.push(Buffer.from(m));
      up.send(m, relayPort, '127.0.0.1');
    });
    up.on('message', (m) => client && front.send(m, client.port, client.address));
    const a = new EdgeClient(1);
    const b = new EdgeClient(1);
    const room = roomId();
    try {
      const viaProxy = (sdp: string): string =>
        sdp.replace(/ 127\.0\.0\.1 (\d+) typ host/, (_m, port: string) => {
          relayPort = Number(port);
          return ` 127.0.0.1 ${front.address().port} typ host`;
        });
      expect((await a.join(relay.url, room, 'audio', undefined, viaProxy)).status).toBe(201);
      expect((await b.join(relay.url, room)).status).toBe(201);
      await Promise.all([a.connected(), b.connected()]);
      a.startSending('alice');
      b.startSending('bob');
      await waitFor(() => (b.received.get('1')?.length ?? 0) > 30, 10_000, 'b hears a');
      a.stopSending();
      await sleep(300);
      const heard = b.received.get('1')!.length;
      for (const p of recorded.slice(5, 25)) up.send(p, relayPort, '127.0.0.1');
      for (const k of [10, 11, 12]) {
        const forged = Buffer.from(recorded[k]!);
        forged[forged.length - 1]! ^= 0xff;
        up.send(forged, relayPort, '127.0.0.1');
      }
      for (const first of [0x05, 0x50, 0x7f, 0xff]) up.send(Buffer.concat([Buffer.from([first]), Buffer.alloc(40, 0x5a)]), relayPort, '127.0.0.1');
      await waitFor(() => relay.metric('xrelay_rtc_dropped_total{reason="replay"}') === 20, 5000, 'replays counted');
      await waitFor(() => relay.metric('xrelay_rtc_dropped_total{reason="bad_tag"}') === 3, 5000, 'forged tags counted');
      await waitFor(() => relay.metric('xrelay_rtc_dropped_total{reason="garbage"}') === 4, 5000, 'garbage counted');
      await sleep(300);
      const payloads = b.received.get('1')!.map((p) => p.toString());
      expect(payloads.length).toBe(heard);
      expect(new Set(payloads).size).toBe(payloads.length);
      // the session still works: fresh packets flow again
      a.startSending('alice2');
      await waitFor(() => b.received.get('1')!.length > heard + 10, 10_000, 'b hears a again');
    } finally {
      await Promise.all([a.close(), b.close()]);
      front.close();
      up.close();
    }
  }, 30_000);
});
