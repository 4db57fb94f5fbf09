/** The SDK's end-to-end layer: pinned vectors (docs/PROTOCOL.md §9), fixed record size, tamper and wrong-key refusal. */
import sodium from 'libsodium-wrappers';
import { beforeAll, describe, expect, it } from 'vitest';
import { CallKeys, kidOf, roomIdOf } from '../../src/client/call/e2e-keys.js';
import { openRecord, readRecordHeader, recordBytes, sealRecord } from '../../src/client/call/sframe.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
beforeAll(async () => {
  await sodium.ready;
});

describe('end-to-end records (SFrame-style, ChaCha20-Poly1305)', () => {
  it('matches the pinned vectors', () => {
    const secret = Buffer.alloc(32, 0x42);
    expect(hex(roomIdOf(secret))).toBe('ae6d416e02730adaf57b4a6d7b1d7b19addeecb33da5d716e9f217241b6b9d72');
    const k = new CallKeys(secret).sender(1, 0);
    expect(hex(k.key)).toBe('330c5359e1584c3b0e7b18e7b1fd426cdaf28c3dccedd96b979b3b5463db0c2e');
    expect(hex(k.salt)).toBe('cec60a855b0badebfefb4514');
    const rec = sealRecord(k, kidOf(1, 0), 0, Buffer.from('hi'), 8);
    expect(hex(rec)).toBe('df000000010000000000000000000026eff250d7c95b17cd8f790d94d5e4e23eb0ebf75ed00c1835e8c1');
    expect(openRecord(k, rec)).toEqual({ dummy: false, packet: new Uint8Array(Buffer.from('hi')) });
  });

  it('every record has one size whatever the packet, dummies included, and opens only under its own key', () => {
    const keys = new CallKeys(Buffer.alloc(32, 7));
    const k = keys.sender(3, 2);
    const sizes = new Set<number>();
    for (let n = 0; n <= 121; n += 11) sizes.add(sealRecord(k, kidOf(3, 2), n, Buffer.alloc(n, 1), 121).length);
    const dummy = sealRecord(k, kidOf(3, 2), 999, undefined, 121);
    sizes.add(dummy.length);
    expect([...sizes]).toEqual([recordBytes(121)]);
    expect(openRecord(k, dummy)?.dummy).toBe(true);
    expect(readRecordHeader(dummy)).toEqual({ kid: kidOf(3, 2), ctr: 999 });
    const rec = sealRecord(k, kidOf(3, 2), 5, Buffer.from('x'), 121);
    expect(openRecord(keys.sender(3, 1), rec)).toBeUndefined();
    expect(openRecord(keys.sender(4, 2), rec)).toBeUndefined();
    const bad = Buffer.from(rec);
    bad[3]! ^= 1; // KID is authenticated (AAD)
    expect(openRecord(k, bad)).toBeUndefined();
    expect(() => sealRecord(k, kidOf(3, 2), 6, Buffer.alloc(122), 121)).toThrow(RangeError);
  });
});
