// The native TURN forwarder against the TypeScript data path: byte-identical ChannelData and Data
// indications for random payloads, addresses (IPv4, IPv6, IPv4-mapped) and clock values straddling
// permission and channel expiry; the same forward/drop decision for random and mutated client
// datagrams (anything the native fast path does not take goes up to the TS core). Skipped, and
// saying so, when the addon is not built.
import { describe, expect, it } from 'vitest';
import { loadNativeTurn, packForwarding } from '../../src/turn/server/native-turn.js';
import { Allocation } from '../../src/turn/core/allocation.js';
import { runTurnDifferential } from './helpers/native-diff.js';

const { addon, reason } = loadNativeTurn();

describe.skipIf(addon === undefined)(`native TURN forwarder parity${addon ? '' : ` (skipped: ${reason})`}`, () => {
  it('emits what the TypeScript data path emits on 60000 random and mutated cases', () => {
    for (const seed of [1, 77, 20261122]) {
      const rep = runTurnDifferential(addon!, 20_000, seed);
      expect(rep.mismatches.slice(0, 5)).toEqual([]);
      // every branch is exercised
      expect(rep.toPeer).toBeGreaterThan(1000);
      expect(rep.toClient).toBeGreaterThan(1000);
      expect(rep.dataIndications).toBeGreaterThan(200);
      expect(rep.toClient - rep.dataIndications).toBeGreaterThan(200);
      expect(rep.dropped).toBeGreaterThan(1000);
      expect(rep.up).toBeGreaterThan(100);
    }
  });

  it('expiry is exact: a permission and a channel serve until expiresAt - 1 ms and not at expiresAt', () => {
    const h = new addon!.NativeTurn(Buffer.alloc(8));
    const client = { transport: 'udp' as const, ip: '10.0.0.1', port: 5000, key: 'k', conn: undefined };
    const a = new Allocation(1, client, 'u', Buffer.alloc(16), false, 4, Buffer.alloc(12), 1e12);
    a.permissions.set('192.0.2.1', 2000);
    a.bindChannel(0x4001, '192.0.2.1', 7000, 1500);
    expect(h.add(1, client.ip, client.port, 4)).toBe(true);
    expect(h.sync(1, packForwarding(a))).toBe(true);
    const out = Buffer.alloc(addon!.turnMaxClientMessage);
    const act = new Int32Array(5);
    const ip = new Uint8Array(17);
    const cd = Buffer.from([0x40, 0x01, 0x00, 0x02, 0xaa, 0xbb]);
    // the channel: until 1499 both ways; from 1500 ChannelData is dropped and peer data comes as Data indications
    expect(h.fromClient(cd, client.ip, client.port, 1499, act, ip)).toBe(1);
    expect(h.fromClient(cd, client.ip, client.port, 1500, act, ip)).toBe(0);
    expect(h.fromPeer(1, Buffer.from('x'), '192.0.2.1', 7000, 1499, out)).toBe(5); // ChannelData: 4 + 1
    expect(h.fromPeer(1, Buffer.from('x'), '192.0.2.1', 7000, 1500, out)).toBe(40); // Data indication: 20 + 12 + 8
    // the permission: until 1999, not at 2000
    expect(h.fromPeer(1, Buffer.from('x'), '192.0.2.1', 7000, 1999, out)).toBe(40);
    expect(h.fromPeer(1, Buffer.from('x'), '192.0.2.1', 7000, 2000, out)).toBe(0);
    // removing state: an empty sync drops everything at once
    a.permissions.clear();
    expect(h.sync(1, packForwarding(a))).toBe(true);
    expect(h.fromPeer(1, Buffer.from('x'), '192.0.2.1', 7000, 0, out)).toBe(0);
    expect(h.remove(1)).toBe(true);
    expect(h.fromPeer(1, Buffer.from('x'), '192.0.2.1', 7000, 0, out)).toBe(-1);
  });
});
