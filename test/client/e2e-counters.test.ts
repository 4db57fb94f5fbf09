/**
 * A room made again with the same call secret (everyone left and came back; a cluster failover that
 * moves the room to another node) counts its epochs from 1 again, so the e2e key of (epoch, slot)
 * serves a new sender. Each CallClient starts its record counter at a random multiple of 2^20, so
 * the two senders' (key, nonce) pairs never meet: asserted on what receivers see through a real relay.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallClient, type CallFrame } from '../../src/client/call/call-client.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';

let relay: TestRelay;
beforeAll(async () => {
  relay = await startTestRelay({ media: { enabled: true } }, { logLevel: 'warn' });
});
afterAll(async () => {
  await relay?.dispose();
});

/** One incarnation of the room: sender then receiver join, the sender sends 5 packets, both leave; the frames the receiver got. */
async function incarnation(secret: Uint8Array): Promise<CallFrame[]> {
  const sender = await CallClient.join({ relay: relay.url, callSecret: secret, profile: 'audio-room' });
  const receiver = await CallClient.join({ relay: relay.url, callSecret: secret, profile: 'audio-room' });
  const got: CallFrame[] = [];
  receiver.on('frame', (f) => got.push(f));
  await expect.poll(() => sender.roster.length === 2 && receiver.roster.length === 2, { timeout: 5000 }).toBe(true);
  for (let i = 0; i < 5; i++) {
    sender.send(new Uint8Array(40).fill(i));
    await new Promise((r) => setTimeout(r, 40));
  }
  await expect.poll(() => got.length, { timeout: 5000 }).toBe(5);
  await Promise.all([sender.leave(), receiver.leave()]);
  await expect.poll(() => relay.media!.core.sessionCount, { timeout: 5000 }).toBe(0);
  return got;
}

describe('e2e record counters across room incarnations', () => {
  it('the same (epoch, slot) key in a room made again never repeats a counter', async () => {
    const secret = randomBytes(32);
    const first = await incarnation(secret);
    const second = await incarnation(secret);
    const keyOf = (f: CallFrame): string => `${f.epoch}/${f.slot}`;
    // the room really was made again: the same keys served both senders
    expect(new Set(second.map(keyOf))).toEqual(new Set(first.map(keyOf)));
    const before = new Set(first.map((f) => `${keyOf(f)}/${f.ctr}`));
    expect(second.filter((f) => before.has(`${keyOf(f)}/${f.ctr}`))).toEqual([]);
    for (const f of [...first, ...second]) expect(Number.isSafeInteger(f.ctr + 2 ** 20)).toBe(true);
  }, 30_000);
});
