/** Must show 4 (e2e padding equalises the relay's view), 5 (bad input dropped and counted, no harm) and 6 (roaming). */
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallClient } from '../../src/client/call/call-client.js';
import { joinAll, leaveAll, rtpPacket, seqOf } from './call-helpers.js';
import { CaptureProxy, sleep, startTestRelay, type TestRelay } from './harness.js';

let relay: TestRelay;
beforeAll(async () => {
  relay = await startTestRelay();
});
afterAll(async () => {
  await relay.close();
});

const recordsIn = (call: CallClient): number => relay.plane.core.sessionStats(call.session & 0xffff)?.recordsIn ?? -1;

describe('end-to-end padding', () => {
  it.each([true, false])('e2ePadding=%s: relay-side forwarded-record counters of a speaker and a silent participant', async (e2ePadding) => {
    const [speaker, silent] = await joinAll(2, { relay: relay.url, transport: 'udp', e2ePadding });
    await sleep(100);
    const a0 = recordsIn(speaker!.call);
    const b0 = recordsIn(silent!.call);
    for (let i = 0; i < 50; i++) {
      if (i % 10 < 6) speaker!.call.send(rtpPacket(speaker!.call.slot, i));
      await sleep(20);
    }
    await sleep(150);
    const a = recordsIn(speaker!.call) - a0;
    const b = recordsIn(silent!.call) - b0;
    console.log(`[e2e padding ${e2ePadding ? 'on' : 'off'}] records the relay received over the same 1 s: speaker=${a} silent=${b}`);
    if (e2ePadding) {
      expect(a).toBeGreaterThan(40);
      expect(Math.abs(a - b)).toBeLessThanOrEqual(2);
      expect(silent!.call.stats.dummiesSent).toBeGreaterThan(40);
      expect(speaker!.call.stats.dummiesReceived).toBeGreaterThan(40);
    } else {
      expect(b).toBe(0);
      expect(a).toBe(30);
    }
    expect(silent!.got.get(speaker!.call.slot)?.length).toBe(30);
    await leaveAll([speaker!, silent!]);
  });
});

describe('bad input', () => {
  it('drops and counts replays, forgeries, truncations, oversize, garbage and unknown sessions; a flood costs the live call nothing', async () => {
    const secret = randomBytes(32);
    const proxy = new CaptureProxy(relay.plane.udpPort);
    const udpTarget = await proxy.start();
    const a = await CallClient.join({ relay: relay.url, callSecret: secret, transport: 'udp', udpTarget });
    const b = await CallClient.join({ relay: relay.url, callSecret: secret, transport: 'udp' });
    const got: number[] = [];
    b.on('frame', (f) => got.push(seqOf(f.data)));
    await sleep(150);
    const reasons = ['replay', 'forged', 'truncated', 'oversized', 'garbage', 'unknown_session'];
    const before = Object.fromEntries(reasons.map((r) => [r, relay.metric(`xrelay_media_cells_dropped_total{reason="${r}"}`)]));
    const roamsBefore = relay.metric('xrelay_media_path_changes_total');
    const throttledBefore = relay.metric('xrelay_media_cells_dropped_total{reason="throttled"}');
    const flooder = createSocket('udp4');
    await new Promise<void>((r) => flooder.bind(0, '127.0.0.1', () => r()));
    let flood = 0;
    const hit = (buf: Buffer): void => {
      flooder.send(buf, relay.plane.udpPort, '127.0.0.1');
      flood++;
    };
    for (let seq = 0; seq < 50; seq++) {
      a.send(rtpPacket(a.slot, seq));
      const ups = proxy.captured.filter((c) => c.dir === 'up').slice(-20);
      for (let k = 0; k < 20; k++) {
        const cell = ups[k % ups.length]!.bytes;
        hit(cell); // replay from a foreign address
        const forged = Buffer.from(cell);
        forged[forged.length - 1 - (k % 16)]! ^= 0x5a;
        forged.writeUInt32BE(forged.readUInt32BE(8) + 1000, 8); // fresh counter, so it reaches the AEAD
        hit(forged);
        hit(cell.subarray(0, cell.length - 1 - k));
        hit(Buffer.concat([cell, randomBytes(1 + k)]));
        hit(randomBytes(1 + (k % 11)));
        const unknown = randomBytes(cell.length);
        unknown.writeUInt32BE(0x7fff0000 + k, 0);
        hit(unknown);
      }
      await sleep(20);
    }
    await sleep(300);
    flooder.close();
    // the TypeScript plane's flood guard refuses most forged cells from this foreign address before the open
    const throttled = relay.metric('xrelay_media_cells_dropped_total{reason="throttled"}') - throttledBefore;
    const counts = Object.fromEntries(reasons.map((r) => [r, relay.metric(`xrelay_media_cells_dropped_total{reason="${r}"}`) - before[r]!]));
    console.log(`[flood] ${flood} hostile datagrams in 1 s; drops by reason: ${JSON.stringify({ ...counts, throttled })}; live call delivered ${got.length}/50`);
    for (const r of reasons) expect(counts[r]).toBeGreaterThan(0);
    expect(Object.values(counts).reduce((x, y) => x + y, 0) + throttled).toBe(flood);
    if (relay.plane.dataPlane === 'native') expect(throttled).toBe(0);
    expect(got).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(relay.metric('xrelay_media_path_changes_total')).toBe(roamsBefore);
    // /metrics labels come from closed sets: no session, room or address ever appears
    const allowed = new Set(['replay', 'forged', 'truncated', 'oversized', 'garbage', 'unknown_session', 'malformed', 'real', 'dummy', 'full', 'stale', 'leave', 'idle', 'throttled', 'ok', 'bad_join', 'room_full', 'unknown_profile', 'profile_mismatch', 'too_many_sessions', 'would_block', 'error', 'recvmmsg', 'sendmmsg']);
    for (const line of relay.metrics.render().split('\n').filter((l) => l.startsWith('xrelay_media_'))) {
      for (const m of line.matchAll(/="([^"]*)"/g)) expect(allowed.has(m[1]!)).toBe(true);
      expect(line).not.toMatch(/127\.0\.0\.1|\d+\.\d+\.\d+\.\d+:/);
    }
    await a.close();
    await b.close();
    proxy.close();
  });
});

describe('roaming', () => {
  it('the call continues when the client source port changes mid-call, both directions', async () => {
    const parties = await joinAll(2, { relay: relay.url, transport: 'udp' });
    const roams = relay.metric('xrelay_media_path_changes_total');
    const [a, b] = parties as [(typeof parties)[0], (typeof parties)[0]];
    for (let seq = 0; seq < 60; seq++) {
      if (seq === 20) await a.call.rebindUdp();
      if (seq === 40) await b.call.rebindUdp();
      a.call.send(rtpPacket(a.call.slot, seq));
      b.call.send(rtpPacket(b.call.slot, seq));
      await sleep(25);
    }
    await sleep(250);
    expect(relay.metric('xrelay_media_path_changes_total') - roams).toBe(2);
    const fromA = b.got.get(a.call.slot) ?? [];
    const fromB = a.got.get(b.call.slot) ?? [];
    console.log(`[roaming] delivered a->b ${fromA.length}/60, b->a ${fromB.length}/60 across two source-port changes`);
    // uplink never loses; a downlink cell already on its way to the old port may be lost (at most a tick or two)
    for (const got of [fromA, fromB]) {
      expect(got.length).toBeGreaterThanOrEqual(57);
      expect(got.slice(-15)).toEqual(Array.from({ length: 15 }, (_, i) => 45 + i));
      expect([...got].sort((x, y) => x - y)).toEqual(got);
    }
    await leaveAll(parties);
  });
});
