/** Must show 1: 1:1 and 8-person rooms over UDP and over the WebSocket fallback, every frame opened in order. */
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallClient } from '../../src/client/call/call-client.js';
import { RelayError } from '../../src/errors.js';
import { expectAllDelivered, joinAll, leaveAll, rtpPacket, talk } from './call-helpers.js';
import { sleep, startTestRelay, type TestRelay } from './harness.js';

let relay: TestRelay;
beforeAll(async () => {
  relay = await startTestRelay({ roomCap: 8 });
});
afterAll(async () => {
  await relay.close();
});

describe.each(['udp', 'ws'] as const)('calls over %s', (transport) => {
  it('1:1 call: every frame arrives, opened and in order', async () => {
    const parties = await joinAll(2, { relay: relay.url, transport, profile: 'audio' });
    expect(parties.map((p) => p.call.transportKind)).toEqual([transport, transport]);
    await talk(parties, 40, 25);
    expect(expectAllDelivered(parties, 40)).toEqual([]);
    await leaveAll(parties);
  });

  it('8-person room: every frame of each participant reaches the 7 others, in order per sender', async () => {
    const parties = await joinAll(8, { relay: relay.url, transport, profile: 'audio-room' });
    await talk(parties, 25, 40);
    expect(expectAllDelivered(parties, 25)).toEqual([]);
    await leaveAll(parties);
  });
});

describe('join, leave and fallback', () => {
  it('falls back to the WebSocket when UDP gets no answer', async () => {
    const hole = createSocket('udp4');
    await new Promise<void>((r) => hole.bind(0, '127.0.0.1', () => r()));
    const secret = randomBytes(32);
    const a = await CallClient.join({ relay: relay.url, callSecret: secret, udpTarget: { host: '127.0.0.1', port: hole.address().port }, udpTimeoutMs: 300 });
    const b = await CallClient.join({ relay: relay.url, callSecret: secret, transport: 'ws' });
    expect(a.transportKind).toBe('ws');
    const got: number[] = [];
    b.on('frame', (f) => got.push(f.data[0]!));
    for (let i = 0; i < 10; i++) {
      a.send(Buffer.from([i, 1, 2, 3]));
      await sleep(25);
    }
    await sleep(200);
    expect(got).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await a.close();
    await b.close();
    hole.close();
  });

  it('refuses joins with stable codes: room_full, unknown_profile, profile_mismatch, bad_join', async () => {
    const parties = await joinAll(8, { relay: relay.url, transport: 'ws', profile: 'audio' });
    const secret = (parties[0]!.call as unknown as { opts: { callSecret: Uint8Array } }).opts.callSecret;
    const code = async (p: Promise<unknown>): Promise<string> => p.then(() => 'ok', (e: RelayError) => e.code);
    expect(await code(CallClient.join({ relay: relay.url, callSecret: secret, transport: 'ws' }))).toBe('room_full');
    expect(await code(CallClient.join({ relay: relay.url, callSecret: randomBytes(32), profile: 'nope' }))).toBe('unknown_profile');
    expect(await code(CallClient.join({ relay: relay.url, callSecret: secret, profile: 'video' }))).toBe('profile_mismatch');
    const bad = await fetch(relay.url + '/v1/media/join', { method: 'POST', body: '{"room":"x"}' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('bad_join');
    expect(relay.metric('xrelay_media_joins_total{result="room_full"}')).toBe(1);
    await leaveAll(parties);
  });

  it('leave() first sends what is still queued: no packet given to send() is stranded', async () => {
    const parties = await joinAll(2, { relay: relay.url, transport: 'udp' });
    const [a, b] = parties as [(typeof parties)[0], (typeof parties)[0]];
    for (let s = 0; s < 6; s++) a.call.send(rtpPacket(a.call.slot, s)); // six ticks' worth, queued at once
    await a.call.leave();
    a.call.send(rtpPacket(a.call.slot, 99)); // after leave(): ignored, not queued
    await sleep(100);
    expect(b.got.get(a.call.slot)).toEqual([0, 1, 2, 3, 4, 5]);
    await leaveAll(parties);
  });

  it('an explicit leave closes the session and re-keys the room (new epoch)', async () => {
    const parties = await joinAll(3, { relay: relay.url, transport: 'udp' });
    const before = parties[0]!.call.epoch;
    const live = relay.plane.core.sessionCount;
    await parties[2]!.call.leave();
    await sleep(100);
    expect(relay.plane.core.sessionCount).toBe(live - 1);
    expect(parties[0]!.call.epoch).toBe(before + 1);
    expect(parties[0]!.call.roster).toHaveLength(2);
    await talk(parties.slice(0, 2), 5, 25);
    expect(expectAllDelivered(parties.slice(0, 2), 5)).toEqual([]);
    await leaveAll(parties.slice(0, 2));
  });
});
