// Bad input at the WebRTC edge, through the real HTTP route and the real UDP ports: stable error
// codes for bad offers and requests, sessions that never connect or go quiet are freed, and STUN,
// DTLS and random garbage at a session's port leave a good session working.
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forbiddenExtensions } from '../../src/rtc/codec/header-extensions.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { offerFixture } from './offer-fixture.js';
import { EdgeClient, roomId, waitFor } from '../../loadtest/rtc/edge-client.js';

let relay: TestRelay;

beforeAll(async () => {
  relay = await startTestRelay({ rtc: { enabled: true, maxOfferBytes: 4096, connectTimeoutMs: 500, idleTimeoutMs: 1000, roomCap: 3, receiveSlots: 2, maxSessionsPerAddress: 6, joinBurst: 100 } });
});
afterAll(async () => {
  await relay.dispose();
});

async function post(body: string | Buffer, opts: { room?: string; profile?: string; type?: string } = {}): Promise<{ status: number; code: string | undefined; text: string; location: string | null }> {
  const res = await fetch(`${relay.url}/v1/rtc/rooms/${opts.room ?? roomId()}?profile=${opts.profile ?? 'audio'}`, { method: 'POST', headers: { 'content-type': opts.type ?? 'application/sdp' }, body });
  const text = await res.text();
  let code: string | undefined;
  try {
    code = (JSON.parse(text) as { error: { code: string } }).error.code;
  } catch {
    code = undefined;
  }
  return { status: res.status, code, text, location: res.headers.get('location') };
}

describe('WebRTC edge: bad input', () => {
  it('bad offers and requests get stable codes, counted by reason', async () => {
    expect(await post('not sdp at all')).toMatchObject({ status: 400, code: 'bad_sdp' });
    expect(await post(randomBytes(2000))).toMatchObject({ status: 400, code: 'bad_sdp' });
    expect(await post(offerFixture({ bundle: false }))).toMatchObject({ status: 400, code: 'bad_sdp' });
    expect(await post(offerFixture({ rtcpMux: false }))).toMatchObject({ status: 400, code: 'bad_sdp' });
    expect(await post(offerFixture({ audioCodec: 'x-unknown/8000' }))).toMatchObject({ status: 400, code: 'bad_sdp' });
    expect(await post(offerFixture({ slots: 3 }))).toMatchObject({ status: 400, code: 'bad_sdp' }); // receiveSlots 2
    expect(await post(offerFixture() + 'a=x:' + 'y'.repeat(5000))).toMatchObject({ status: 413, code: 'size_not_allowed' });
    expect(await post(offerFixture(), { type: 'text/plain' })).toMatchObject({ status: 415, code: 'unsupported_media_type' });
    expect(await post(offerFixture(), { type: 'application/json' })).toMatchObject({ status: 415, code: 'unsupported_media_type' });
    expect(await post(offerFixture(), { profile: 'podcast' })).toMatchObject({ status: 400, code: 'unknown_profile' });
    expect(await post(offerFixture(), { room: 'short' })).toMatchObject({ status: 400, code: 'bad_request' });
    // a non-canonical spelling of a room id (low bits set in the last character): one room, one string
    expect(await post(offerFixture(), { room: 'A'.repeat(42) + 'B' })).toMatchObject({ status: 400, code: 'bad_request' });
    const del = await fetch(`${relay.url}/v1/rtc/sessions/${randomBytes(16).toString('base64url')}`, { method: 'DELETE' });
    expect(del.status).toBe(404);
    expect(relay.metric('xrelay_rtc_offers_refused_total{reason="unparsable"}')).toBe(2);
    expect(relay.metric('xrelay_rtc_offers_refused_total{reason="no_bundle"}')).toBe(1);
    expect(relay.metric('xrelay_rtc_offers_refused_total{reason="no_rtcp_mux"}')).toBe(1);
    expect(relay.metric('xrelay_rtc_offers_refused_total{reason="no_codec"}')).toBe(1);
    expect(relay.metric('xrelay_rtc_joins_total{result="bad_sdp"}')).toBe(6);
    expect(relay.rtc!.sessionCount).toBe(0);
  });

  it('a session whose ICE/DTLS never completes is freed; so is one that goes quiet; room cap and profile are enforced', async () => {
    const room = roomId();
    // A policy-valid offer from no one (its ICE credentials and fingerprint are made up): answered, never connects.
    const ghost = await post(offerFixture(), { room });
    expect(ghost.status).toBe(201);
    expect(ghost.location).toMatch(/^\/v1\/rtc\/sessions\//);
    expect(forbiddenExtensions(ghost.text)).toEqual([]); // the fixture offers audio level and video orientation
    expect(await post(offerFixture({ video: true }), { room, profile: 'video' })).toMatchObject({ status: 409, code: 'profile_mismatch' });
    expect((await post(offerFixture(), { room })).status).toBe(201);
    expect(await post(offerFixture(), { room })).toMatchObject({ status: 201 });
    expect(await post(offerFixture(), { room })).toMatchObject({ status: 409, code: 'room_full' });
    const started = Date.now();
    await waitFor(() => relay.rtc!.sessionCount === 0, 5000, 'unconnected sessions freed');
    console.log(`3 sessions that never connected freed after ${Date.now() - started} ms (connectTimeoutMs 500)`);
    expect(relay.metric('xrelay_rtc_sessions_closed_total{reason="connect_timeout"}')).toBe(3);
    expect(relay.rtc!.udpTable).toMatchObject({ sessions: 0, tuples: 0 }); // the UDP port forgot them too

    // connected, then silent: idle_timeout
    const quiet = new EdgeClient(2);
    try {
      expect((await quiet.join(relay.url, roomId())).status).toBe(201);
      await quiet.connected();
      await waitFor(() => relay.rtc!.sessionCount === 0, 5000, 'quiet session freed');
      expect(relay.metric('xrelay_rtc_sessions_closed_total{reason="idle_timeout"}')).toBe(1);
    } finally {
      await quiet.close();
    }
  }, 30_000);

  it('sessions per address are bounded', async () => {
    const held: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await post(offerFixture());
      expect(r.status).toBe(201);
      held.push(r.location!);
    }
    expect(await post(offerFixture())).toMatchObject({ status: 429, code: 'rate_limited' });
    for (const l of held) expect((await fetch(relay.url + l, { method: 'DELETE' })).status).toBe(204);
    expect(relay.rtc!.sessionCount).toBe(0);
  });

  it('STUN, DTLS and random garbage at a session port: the good session keeps working', async () => {
    const room = roomId();
    const a = new EdgeClient(2);
    const b = new EdgeClient(2, false, true); // b offers audio level too: the answer must not carry it
    const sock = createSocket('udp4');
    try {
      expect((await a.join(relay.url, room)).status).toBe(201);
      expect((await b.join(relay.url, room)).status).toBe(201);
      expect(b.pc.localDescription!.sdp).toContain('ssrc-audio-level');
      expect(forbiddenExtensions(b.answer)).toEqual([]);
      await Promise.all([a.connected(), b.connected()]);
      a.startSending('alice');
      b.startSending('bob'); // a member that sends nothing is closed after idleTimeoutMs (1 s here)
      await waitFor(() => (b.received.get('1')?.length ?? 0) > 5, 10_000, 'b hears a');
      const ports = [a.answer, b.answer].map((s) => Number(/a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 (\d+) typ host/.exec(s)![1]));
      const stunLike = (): Buffer => Buffer.concat([Buffer.from([0x00, 0x01, 0x00, 0x08, 0x21, 0x12, 0xa4, 0x42]), randomBytes(20)]);
      const dtlsLike = (): Buffer => Buffer.concat([Buffer.from([0x16, 0xfe, 0xfd]), randomBytes(40)]);
      const rtpLike = (): Buffer => Buffer.concat([Buffer.from([0x80, 0x6f]), randomBytes(60)]);
      for (let i = 0; i < 300; i++) {
        for (const port of ports) {
          const gen = [stunLike, dtlsLike, rtpLike, () => randomBytes(1 + (i % 200))][i % 4]!;
          sock.send(gen(), port, '127.0.0.1');
        }
        if (i % 50 === 0) await new Promise((r) => setTimeout(r, 5));
      }
      const before = b.received.get('1')!.length;
      await waitFor(() => b.received.get('1')!.length > before + 25, 10_000, 'b still hears a after the garbage');
      expect(relay.rtc!.sessionCount).toBe(2);
      expect(a.pc.connectionState).toBe('connected');
    } finally {
      sock.close();
      await Promise.all([a.close(), b.close()]);
    }
  }, 30_000);

  it('the join rate per address answers rate_limited with Retry-After; a taken rtc.port stops the relay from starting', async () => {
    const small = await startTestRelay({ rtc: { enabled: true, joinBurst: 3, joinRatePerSec: 0.001 } });
    try {
      for (let i = 0; i < 3; i++) {
        const r = await fetch(`${small.url}/v1/rtc/rooms/${roomId()}`, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: offerFixture() });
        expect(r.status).toBe(201);
        expect(await r.text()).toContain(` 127.0.0.1 ${small.rtc!.udpPort} typ host`);
      }
      const limited = await fetch(`${small.url}/v1/rtc/rooms/${roomId()}`, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: offerFixture() });
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(((await limited.json()) as { error: { code: string } }).error.code).toBe('rate_limited');
    } finally {
      await small.dispose();
    }
    const holder = createSocket('udp4');
    await new Promise<void>((r) => holder.bind(0, '127.0.0.1', () => r()));
    try {
      await expect(startTestRelay({ rtc: { enabled: true, port: holder.address().port } })).rejects.toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      holder.close();
    }
  });
});

