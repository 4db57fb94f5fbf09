/**
 * The TypeScript path's relay port picker in a configured range (RelaySockets): ports the relay
 * already holds do not use up bind attempts, so the last free port of a nearly full range is found
 * wherever the cursor stands. Real sockets on 127.0.0.1.
 */
import type { Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { RelaySockets } from '../../src/turn/server/relay-sockets.js';

// 300 ports, more than the 64 bind attempts one allocation may spend, above Linux's ephemeral range
// (32768-60999) and at a random place in 61000-65499 so parallel runs rarely share one.
const portMin = 61_000 + 300 * Math.floor(Math.random() * 15);
const portMax = portMin + 299;
let relays: RelaySockets | undefined;
afterEach(async () => {
  await relays?.closeAll();
  relays = undefined;
});

async function fillRange(r: RelaySockets): Promise<Socket[]> {
  const held: Socket[] = [];
  for (;;) {
    const s = await r.bind(false);
    if (s === undefined) return held;
    held.push(s);
  }
}

describe('relay port range (TypeScript path)', () => {
  it('after the range fills, a freed port anywhere in it is found by the next allocations', async () => {
    relays = new RelaySockets({ bindIp: '127.0.0.1', family: 4, portMin, portMax });
    const held = await fillRange(relays);
    console.log(`range ${portMin}-${portMax}: ${held.length} ports bound before exhaustion`);
    expect(held.length).toBeGreaterThan(200); // the rest are held by other processes, if any
    for (let round = 0; round < 5; round++) {
      const victim = held.splice(Math.floor(Math.random() * held.length), 1)[0]!;
      const port = victim.address().port;
      await relays.release(victim);
      const again = await relays.bind(false);
      expect(again?.address().port, `freed port ${port}`).toBe(port);
      held.push(again!);
    }
  });

  it('EVEN-PORT finds the one free even port of a full range', async () => {
    relays = new RelaySockets({ bindIp: '127.0.0.1', family: 4, portMin, portMax });
    const held = await fillRange(relays);
    const evens = held.filter((s) => s.address().port % 2 === 0);
    const victim = evens[Math.floor(evens.length / 2)]!;
    const port = victim.address().port;
    await relays.release(victim);
    const again = await relays.bind(true);
    expect(again?.address().port).toBe(port);
  });
});
