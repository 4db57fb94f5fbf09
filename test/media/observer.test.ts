/**
 * Must show 2 (blindness) and 3 (uniformity): three participants each behind a UDP capture proxy,
 * a talk phase, a silence phase and a talk phase. The capture is what a network observer sees.
 */
import { randomBytes } from 'node:crypto';
import sodium from 'libsodium-wrappers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallClient } from '../../src/client/call/call-client.js';
import { CallKeys, roomIdOf } from '../../src/client/call/e2e-keys.js';
import { wireBytes } from '../../src/media/codec/cell-layout.js';
import { rtpPacket } from './call-helpers.js';
import { CaptureProxy, sleep, spread, startTestRelay, type Captured, type TestRelay } from './harness.js';

let relay: TestRelay;
const proxies: CaptureProxy[] = [];
const calls: CallClient[] = [];
const sent: Buffer[] = [];
const received: Buffer[] = [];
const phases: Array<{ name: 'talk' | 'silence'; from: number; to: number }> = [];
const joinBodies: string[] = [];
const secret = randomBytes(32);
const TALK_MS = 1200;

beforeAll(async () => {
  relay = await startTestRelay();
  const realFetch = globalThis.fetch;
  globalThis.fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    if (typeof init?.body === 'string') joinBodies.push(init.body);
    return realFetch(input, init);
  }) as typeof fetch;
  try {
    for (let i = 0; i < 3; i++) {
      const proxy = new CaptureProxy(relay.plane.udpPort);
      proxies.push(proxy);
      const udpTarget = await proxy.start();
      const call = await CallClient.join({ relay: relay.url, callSecret: secret, profile: 'audio', transport: 'udp', udpTarget });
      call.on('frame', (f) => received.push(Buffer.from(f.data)));
      calls.push(call);
    }
  } finally {
    globalThis.fetch = realFetch;
  }
  await sleep(200);
  let seq = 0;
  for (const name of ['talk', 'silence', 'talk'] as const) {
    const from = performance.now();
    const end = from + TALK_MS;
    while (performance.now() < end) {
      if (name === 'talk') {
        // participant 0 speaks in spurts with varying packet sizes; 1 answers now and then; 2 stays silent
        const p0 = rtpPacket(calls[0]!.slot, seq, 20 + ((seq * 37) % 100));
        calls[0]!.send(p0);
        sent.push(p0);
        if (seq % 3 === 0) {
          const p1 = rtpPacket(calls[1]!.slot, seq, 60);
          calls[1]!.send(p1);
          sent.push(p1);
        }
        seq++;
      }
      await sleep(20);
    }
    phases.push({ name, from, to: performance.now() });
  }
  await sleep(200);
}, 30_000);

afterAll(async () => {
  for (const c of calls) await c.close();
  for (const p of proxies) p.close();
  await relay.close();
});

describe('what the wire shows', () => {
  it('the frames were delivered (sanity)', () => {
    expect(received.length).toBeGreaterThan(sent.length * 1.5);
  });

  it('blindness: no captured datagram holds a plaintext frame, its RTP header or marker, or any call key', async () => {
    await sodium.ready;
    const all = proxies.flatMap((p) => p.captured.map((c) => c.bytes));
    expect(all.length).toBeGreaterThan(300);
    const wire = Buffer.concat(all);
    const needles: Buffer[] = [];
    for (const f of sent) needles.push(f, f.subarray(0, 12), f.subarray(12, 28));
    needles.push(Buffer.from('PLAINTEXT-FRAME'), secret);
    const keys = new CallKeys(secret);
    for (const c of calls) needles.push(Buffer.from(keys.sender(c.epoch, c.slot).key), Buffer.from(keys.sender(c.epoch, c.slot).salt));
    for (const n of needles) expect(wire.indexOf(n)).toBe(-1);
    // what the relay was told at join: the room id (a hash) and a public key, never the secret or a derived key
    const told = joinBodies.join('\n');
    expect(joinBodies).toHaveLength(3);
    expect(told).toContain(Buffer.from(roomIdOf(secret)).toString('base64url'));
    for (const enc of ['base64url', 'base64', 'hex'] as const) {
      expect(told.includes(secret.toString(enc))).toBe(false);
      for (const c of calls) expect(told.includes(Buffer.from(keys.sender(c.epoch, c.slot).key).toString(enc))).toBe(false);
    }
  });

  it('uniformity: one cell size per direction, and sends follow the tick in talk and silence alike', () => {
    const tick = 20;
    const lines: string[] = [];
    for (const [i, proxy] of proxies.entries()) {
      for (const dir of ['up', 'down'] as const) {
        const cells = proxy.captured.filter((c) => c.dir === dir);
        const sizes = new Set(cells.map((c) => c.bytes.length));
        expect([...sizes]).toEqual([wireBytes(dir === 'up' ? 160 : 480)]);
        const means: number[] = [];
        for (const ph of phases) {
          const inPhase = cells.filter((c: Captured) => c.t >= ph.from && c.t < ph.to);
          const gaps = inPhase.slice(1).map((c, k) => c.t - inPhase[k]!.t);
          const s = spread(gaps);
          means.push(s.mean);
          const expected = (ph.to - ph.from) / tick;
          lines.push(
            `participant ${i} ${dir.padEnd(4)} ${ph.name.padEnd(7)} cells=${inPhase.length} (expected ~${expected.toFixed(0)}) gap mean=${s.mean.toFixed(2)}ms sd=${s.sd.toFixed(2)} p1=${s.p1.toFixed(2)} p50=${s.p50.toFixed(2)} p99=${s.p99.toFixed(2)} max=${s.max.toFixed(2)}`,
          );
          expect(inPhase.length).toBeGreaterThan(expected * 0.8);
          expect(inPhase.length).toBeLessThan(expected * 1.1 + 2);
          expect(Math.abs(s.mean - tick)).toBeLessThan(4);
          expect(s.p50).toBeGreaterThan(tick - 5);
          expect(s.p50).toBeLessThan(tick + 5);
        }
        // talk and silence look the same: mean gaps within 3 ms of each other
        expect(Math.max(...means) - Math.min(...means)).toBeLessThan(3);
      }
    }
    console.log('[uniformity] measured inter-send spread at the capture proxy (tick 20 ms):\n' + lines.join('\n'));
  });
});
