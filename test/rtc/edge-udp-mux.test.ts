// The WebRTC edge's one UDP port, on the wire (127.0.0.1): several werift sessions share it; a
// flood of STUN and junk at it is dropped before any session and counted by reason while an
// honest session keeps delivering; a check with a live session's ufrag but the wrong integrity
// does not latch its 5-tuple; the port's table empties when sessions close or time out.
// The checks this test sends are written by the TURN plane's STUN encoder, not the edge's reader.
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readStun, STUN_SUCCESS, stunFields } from '../../src/rtc/codec/stun-check.js';
import type { RtcDropReason } from '../../src/rtc/server/rtc-metrics.js';
import { Attr, Method, StunClass, StunWriter } from '../../src/turn/codec/index.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { offerFixture } from './offer-fixture.js';
import { EdgeClient, roomId, waitFor } from '../../loadtest/rtc/edge-client.js';

let relay: TestRelay;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const FIXTURE_UFRAG = 'abcd'; // offer-fixture.ts's ICE credentials

beforeAll(async () => {
  relay = await startTestRelay({ rtc: { enabled: true, connectTimeoutMs: 30_000, joinBurst: 100, maxSessionsPerAddress: 20 } });
});
afterAll(async () => {
  await relay.dispose();
});

const ice = (sdp: string): { ufrag: string; pwd: string; port: number } => ({
  ufrag: /a=ice-ufrag:(\S+)/.exec(sdp)![1]!,
  pwd: /a=ice-pwd:(\S+)/.exec(sdp)![1]!,
  port: Number(/a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 (\d+) typ host/.exec(sdp)?.[1] ?? 0),
});

/** A Binding request as ICE sends it (RFC 8445 §7.2.2): USERNAME `<ufrag>:<remote ufrag>`, PRIORITY, MESSAGE-INTEGRITY, FINGERPRINT. */
function check(username: string, key: string, fingerprint = true): Buffer {
  const w = new StunWriter().begin(Method.binding, StunClass.request, randomBytes(12)).string(Attr.username, username).u32(Attr.priority, 0x6e0001ff).bytes(Attr.iceControlling, randomBytes(8)).integrity(Buffer.from(key));
  if (fingerprint) w.fingerprint();
  return w.finish();
}

async function bound(): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return s;
}

const drops = (): Record<RtcDropReason, number> => ({ ...relay.rtc!.metricsView.counters.drops });

/** Closes the clients and their sessions at the relay (the next test starts from an empty table). */
async function leave(...clients: EdgeClient[]): Promise<void> {
  await Promise.all(clients.map(async (c) => {
    if (c.location !== '') await fetch(relay.url + c.location, { method: 'DELETE' });
    await c.close();
  }));
}

async function post(room = roomId()): Promise<{ answer: string; location: string }> {
  const res = await fetch(`${relay.url}/v1/rtc/rooms/${room}`, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: offerFixture() });
  expect(res.status).toBe(201);
  return { answer: await res.text(), location: res.headers.get('location')! };
}

describe('WebRTC edge: one UDP port for every session', () => {
  it('4 werift members of one room share the port: every answer names it, traffic flows, the table empties after', async () => {
    const port = relay.rtc!.udpPort;
    expect(port).toBeGreaterThan(0);
    const room = roomId();
    const clients = [0, 1, 2, 3].map(() => new EdgeClient(3));
    try {
      for (const c of clients) expect((await c.join(relay.url, room)).status).toBe(201);
      const creds = clients.map((c) => ice(c.answer));
      expect(creds.every((x) => x.port === port)).toBe(true);
      expect(new Set(creds.map((x) => x.ufrag)).size).toBe(4);
      for (const x of creds) {
        expect(x.ufrag).toMatch(/^[0-9a-f]{16}$/); // 64-bit ufrags (werift's own are 16-bit)
        expect(x.pwd).toMatch(/^[0-9a-f]{32}$/);
      }
      await Promise.all(clients.map((c) => c.connected()));
      clients.forEach((c, i) => c.startSending(`m${i}`));
      await waitFor(() => clients.every((c, i) => clients.every((_, j) => j === i || [...c.sources().values()].some((s) => s.has(`m${j}`)))), 15_000, 'every member hears every other');
      expect(relay.rtc!.udpTable.sessions).toBe(4);
      expect(relay.rtc!.udpTable.tuples).toBeGreaterThanOrEqual(4);
      expect(relay.metric('xrelay_rtc_udp_sessions')).toBe(4);
      expect(relay.metric('xrelay_rtc_udp_tuples')).toBe(relay.rtc!.udpTable.tuples);
      console.log(`4 sessions on port ${port}: ${relay.rtc!.udpTable.tuples} latched 5-tuples`);
      for (const c of clients) expect((await fetch(relay.url + c.location, { method: 'DELETE' })).status).toBe(204);
      expect(relay.rtc!.udpTable).toMatchObject({ sessions: 0, tuples: 0 }); // (and at a connect timeout: edge-bad-input.test.ts)
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  }, 60_000);

  it('a flood at the port is dropped before any session and counted by reason; an honest session keeps delivering', async () => {
    const room = roomId();
    const a = new EdgeClient(1);
    const b = new EdgeClient(1);
    const arrivals: number[] = [];
    b.onSlotRtp = (_mid, rtp) => {
      if (rtp.payload.toString().startsWith('alice')) arrivals.push(Date.now());
    };
    const own = await bound(); // a 5-tuple this test latches itself, with a valid check for a session of its own
    const strangers = await Promise.all([0, 1, 2, 3].map(() => bound()));
    let mineLocation = '';
    try {
      expect((await a.join(relay.url, room)).status).toBe(201);
      expect((await b.join(relay.url, room)).status).toBe(201);
      await Promise.all([a.connected(), b.connected()]);
      a.startSending('alice');
      b.startSending('bob');
      await waitFor(() => arrivals.length > 10, 10_000, 'b hears a');

      const mineSession = await post();
      mineLocation = mineSession.location;
      const mine = ice(mineSession.answer);
      const port = relay.rtc!.udpPort;
      expect(mine.port).toBe(port);
      const responses: { port: number; cls: number }[] = [];
      own.on('message', (m, from) => {
        const f = stunFields();
        if (readStun(m, f)) responses.push({ port: from.port, cls: f.cls });
      });
      own.send(check(`${mine.ufrag}:${FIXTURE_UFRAG}`, mine.pwd), port, '127.0.0.1');
      await waitFor(() => responses.length > 0, 5000, 'werift answers the valid check through the port');
      expect(responses[0]).toEqual({ port, cls: STUN_SUCCESS });
      const tuples = relay.rtc!.udpTable.tuples;

      const aUfrag = ice(a.answer).ufrag;
      const base = drops();
      const sent: Partial<Record<RtcDropReason, number>> = {};
      let n = 0;
      const junk: Array<[RtcDropReason, Socket, () => Buffer]> = [
        ['stun_unknown_ufrag', strangers[0]!, () => check(`${randomBytes(8).toString('hex')}:${FIXTURE_UFRAG}`, 'k'.repeat(32))],
        ['stun_bad_integrity', strangers[1]!, () => check(`${(n & 1) === 0 ? aUfrag : mine.ufrag}:${FIXTURE_UFRAG}`, randomBytes(16).toString('hex'))],
        ['stun_malformed', strangers[2]!, () => malformedStun(n)],
        ['unknown_source', strangers[3]!, () => Buffer.concat([Buffer.from([4 + (n % 252)]), randomBytes(20 + (n % 180))])],
        ['dtls_malformed', own, () => malformedDtls(n)], // on a latched 5-tuple
        ['garbage', own, () => Buffer.concat([Buffer.from([64 + (n % 64)]), randomBytes(30)])], // latched, neither STUN, DTLS nor RTP
      ];
      const counts: Record<string, number> = { stun_unknown_ufrag: 2000, stun_bad_integrity: 2000, stun_malformed: 1000, unknown_source: 1000, dtls_malformed: 1000, garbage: 500 };
      const start = Date.now();
      for (const [reason, sock, make] of junk) {
        for (let i = 0; i < counts[reason]!; i += 100) {
          for (let k = 0; k < 100 && i + k < counts[reason]!; k++, n++) {
            sock.send(make(), port, '127.0.0.1');
            sent[reason] = (sent[reason] ?? 0) + 1;
          }
          // paced by the relay: the next batch goes when this one is counted (no loss in the socket buffer)
          await waitFor(() => drops()[reason] - base[reason] === sent[reason], 10_000, `${reason} counted`);
        }
      }
      const end = Date.now();
      const after = drops();
      for (const [reason, count] of Object.entries(counts)) expect(after[reason as RtcDropReason] - base[reason as RtcDropReason]).toBe(count);
      expect(after.bad_tag - base.bad_tag).toBe(0);
      expect(after.dtls_bad_record - base.dtls_bad_record).toBe(0);
      expect(relay.rtc!.udpTable.tuples).toBe(tuples); // no junk latched anything
      const during = arrivals.filter((t) => t >= start && t <= end);
      let gap = 0;
      for (let i = 1; i < during.length; i++) gap = Math.max(gap, during[i]! - during[i - 1]!);
      console.log(`flood of ${n} datagrams in ${end - start} ms: b heard ${during.length} of a's packets meanwhile, longest gap ${gap} ms`);
      expect(during.length).toBeGreaterThan((end - start) / 20 / 4);
      expect(gap).toBeLessThan(1000);
      const heard = arrivals.length;
      await waitFor(() => arrivals.length > heard + 25, 10_000, 'b still hears a');
      expect(relay.rtc!.sessionCount).toBe(3); // a, b and this test's own (connectTimeoutMs 30 s)
      expect(a.pc.connectionState).toBe('connected');
      expect(relay.metric('xrelay_rtc_dropped_total{reason="stun_bad_integrity"}')).toBe(after.stun_bad_integrity);
    } finally {
      for (const s of [own, ...strangers]) s.close();
      await leave(a, b);
      if (mineLocation !== '') await fetch(relay.url + mineLocation, { method: 'DELETE' });
    }
  }, 90_000);

  it("a check with a live session's ufrag and the wrong integrity, or a bad FINGERPRINT, latches nothing: its later RTP is unknown_source", async () => {
    const room = roomId();
    const a = new EdgeClient(1);
    const b = new EdgeClient(1);
    const thief = await bound();
    try {
      expect((await a.join(relay.url, room)).status).toBe(201);
      expect((await b.join(relay.url, room)).status).toBe(201);
      await Promise.all([a.connected(), b.connected()]);
      a.startSending('alice');
      b.startSending('bob');
      await waitFor(() => (b.received.get('1')?.length ?? 0) > 5, 10_000, 'b hears a');
      const server = ice(a.answer);
      const client = ice(a.pc.localDescription!.sdp);
      const tuples = relay.rtc!.udpTable.tuples;
      const base = drops();
      let answered = 0;
      thief.on('message', () => answered++);
      thief.send(check(`${server.ufrag}:${client.ufrag}`, client.pwd), server.port, '127.0.0.1'); // the client's password, not the relay's
      const zeroed = check(`${server.ufrag}:${client.ufrag}`, server.pwd);
      zeroed.fill(0, zeroed.length - 4); // right key, FINGERPRINT zeroed
      thief.send(zeroed, server.port, '127.0.0.1');
      thief.send(check(`${server.ufrag}:${client.ufrag}`, server.pwd).subarray(0, 20 + 12), server.port, '127.0.0.1'); // cut: malformed
      await waitFor(() => drops().stun_bad_integrity - base.stun_bad_integrity === 1 && drops().stun_malformed - base.stun_malformed === 2, 5000, 'checks counted');
      thief.send(Buffer.concat([Buffer.from([0x80, 0x6f]), randomBytes(60)]), server.port, '127.0.0.1');
      thief.send(Buffer.concat([Buffer.from([0x16, 0xfe, 0xfd]), randomBytes(40)]), server.port, '127.0.0.1');
      await waitFor(() => drops().unknown_source - base.unknown_source === 2, 5000, 'unknown_source counted');
      await sleep(200);
      expect(answered).toBe(0); // werift never saw the checks
      expect(relay.rtc!.udpTable.tuples).toBe(tuples);
      const heard = b.received.get('1')!.length;
      await waitFor(() => b.received.get('1')!.length > heard + 10, 10_000, 'b still hears a');
      expect(a.pc.connectionState).toBe('connected');
    } finally {
      thief.close();
      await leave(a, b);
    }
  }, 30_000);

  it('after DTLS is up, an unauthenticated (epoch 0) alert or handshake record on a session 5-tuple is dropped (werift would stop sending to the member); records that do not decrypt are counted', async () => {
    // A proxy in front of the relay for member a: its relay-side socket is a's latched 5-tuple, so
    // the test can send what a spoofed datagram from a's address would be.
    const front = await bound();
    const up = await bound();
    let client: { port: number; address: string } | undefined;
    const port = relay.rtc!.udpPort;
    front.on('message', (m, from) => {
      client = from;
      up.send(m, port, '127.0.0.1');
    });
    up.on('message', (m) => client && front.send(m, client.port, client.address));
    const a = new EdgeClient(1);
    const b = new EdgeClient(1);
    const room = roomId();
    try {
      const viaProxy = (sdp: string): string => sdp.replace(/ 127\.0\.0\.1 (\d+) typ host/, ` 127.0.0.1 ${front.address().port} typ host`);
      expect((await a.join(relay.url, room, 'audio', undefined, viaProxy)).status).toBe(201);
      expect((await b.join(relay.url, room)).status).toBe(201);
      await Promise.all([a.connected(), b.connected()]);
      a.startSending('alice');
      b.startSending('bob');
      await waitFor(() => (b.received.get('1')?.length ?? 0) > 10 && (a.received.get('1')?.length ?? 0) > 10, 10_000, 'a and b hear each other');
      const base = drops();
      const record = (type: number, body: Buffer): Buffer => {
        const h = Buffer.alloc(13);
        h[0] = type;
        h.writeUInt16BE(0xfefd, 1); // epoch 0, sequence 0
        h.writeUInt16BE(body.length, 11);
        return Buffer.concat([h, body]);
      };
      up.send(record(21, Buffer.from([2, 40])), port, '127.0.0.1'); // fatal handshake_failure, in clear
      up.send(record(21, Buffer.from([1, 0])), port, '127.0.0.1'); // close_notify, in clear
      up.send(Buffer.concat([record(20, Buffer.from([1])), record(22, Buffer.alloc(12))]), port, '127.0.0.1'); // a handshake record in clear
      await waitFor(() => drops().dtls_plaintext - base.dtls_plaintext === 3, 5000, 'plaintext records counted');
      // protected-looking records (epoch 1) that do not decrypt: werift drops them, the edge counts them
      const forged = (type: number): Buffer => {
        const r = record(type, randomBytes(40));
        r.writeUInt16BE(1, 3); // epoch 1
        r.writeUInt16BE(1, 13); // an explicit nonce starting as a browser's does
        return r;
      };
      up.send(forged(23), port, '127.0.0.1');
      up.send(forged(21), port, '127.0.0.1');
      await waitFor(() => drops().dtls_bad_record - base.dtls_bad_record === 2, 5000, 'undecryptable records counted');
      await sleep(300);
      expect(a.pc.connectionState).toBe('connected');
      // both directions still flow: werift stops every send to a once its DTLS transport is `closed`
      const [heardA, heardB] = [a.received.get('1')!.length, b.received.get('1')!.length];
      await waitFor(() => a.received.get('1')!.length > heardA + 10 && b.received.get('1')!.length > heardB + 10, 5000, 'a and b still hear each other');
      expect(relay.metric('xrelay_rtc_sessions_closed_total{reason="failed"}')).toBe(0);
    } finally {
      await leave(a, b);
      front.close();
      up.close();
    }
  }, 30_000);
});

/** First byte 0..3 and never well-formed STUN (RFC 8489 §5): a broken cookie, a length that lies, or cut short. */
function malformedStun(n: number): Buffer {
  const b = Buffer.concat([Buffer.from([n % 4, 0x01, 0x00, 0x08, 0x21, 0x12, 0xa4, 0x42]), randomBytes(12), randomBytes(8)]);
  switch (n % 3) {
    case 0:
      b[7] = 0x43; // not the magic cookie
      return b;
    case 1:
      b.writeUInt16BE(12, 2); // says 12 bytes follow the header, 8 do
      return b;
    default:
      return b.subarray(0, 19);
  }
}

/** First byte 20..63 and never whole DTLS 1.0/1.2 records (RFC 6347 §4.1). */
function malformedDtls(n: number): Buffer {
  const b = Buffer.concat([Buffer.from([20 + (n % 4), 0xfe, 0xfd]), randomBytes(8), Buffer.alloc(2), randomBytes(40)]);
  switch (n % 4) {
    case 0:
      b.writeUInt16BE(45, 11); // 40 bytes follow, not 45
      return b;
    case 1:
      b[2] = 0x03; // not a DTLS version
      b.writeUInt16BE(40, 11);
      return b;
    case 2:
      b[0] = 32 + (n % 32); // DTLS 1.3 unified header: not for this DTLS 1.2 edge
      return b;
    default:
      return b.subarray(0, 10); // a header cut short
  }
}
