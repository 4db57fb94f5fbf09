// The native path's relay-port picker with a stand-in addon handle (no sockets): an EVEN-PORT
// allocation on ephemeral ports keeps drawing until it gets an even port, instead of answering 508
// after two odd draws (the intermittent 508 coturn's uclient saw: its RTP allocations ask EVEN-PORT).
import { describe, expect, it } from 'vitest';
import type { Allocation } from '../../src/turn/core/allocation.js';
import { startNativeUdpPath, type NativeTurnAddon } from '../../src/turn/server/native-turn.js';

function fakeAddon(draws: number[]) {
  const closed: number[] = [];
  class NativeTurn {
    start(): number {
      return 3478;
    }
    openRelay(id: number): number {
      return draws.shift() ?? -98; // EADDRINUSE once the script runs out
    }
    closeRelay(id: number): boolean {
      closed.push(id);
      return true;
    }
  }
  return { addon: { NativeTurn } as unknown as NativeTurnAddon, closed };
}

const alloc = { id: 7, client: { ip: '127.0.0.1', port: 40000 } } as unknown as Allocation;
const start = (addon: NativeTurnAddon, portMin: number, portMax: number) =>
  startNativeUdpPath(addon, '127.0.0.1', 0, { bindIp: '127.0.0.1', family: 4, portMin, portMax }, new Uint8Array(4), 0, () => {});

describe('native TURN relay-port picker', () => {
  it('EVEN-PORT on ephemeral ports survives a run of odd draws', () => {
    const { addon, closed } = fakeAddon([34489, 50555, 41001, 42040]);
    expect(start(addon, 0, 0).openRelay(alloc, true)).toBe(42040);
    expect(closed).toEqual([7, 7, 7]); // each odd port was given back
  });

  it('a plain allocation on ephemeral ports takes the first port it gets', () => {
    const { addon } = fakeAddon([34489]);
    expect(start(addon, 0, 0).openRelay(alloc, false)).toBe(34489);
  });

  it('answers no port (508) when binding keeps failing', () => {
    const { addon } = fakeAddon([]);
    expect(start(addon, 0, 0).openRelay(alloc, true)).toBeUndefined();
  });
});
