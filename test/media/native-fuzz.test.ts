/**
 * The native cell decoder under random and mutated input, against the TypeScript one (short run;
 * `npm run fuzz:cells` runs a million cases), plus parity of the native AEAD and the PROTOCOL §8
 * vector.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { cellKey, openCell, Opened, sealCell } from '../../src/media/crypto/cell-aead.js';
import { fuzzCells } from '../../loadtest/dataplane/fuzz-cells.js';
import { hasNative, nativeAddon } from './plane-select.js';

describe.skipIf(!hasNative)('native cell codec', () => {
  it('agrees with the TypeScript decoder on 40000 random and mutated bodies and cells', () => {
    const rep = fuzzCells(nativeAddon(), 40_000, 20240601);
    expect(rep.mismatches).toEqual([]);
    expect(rep.bodiesOk).toBeGreaterThan(1000);
    expect(rep.cellsAccepted).toBeGreaterThan(100);
  });

  it('seals the PROTOCOL.md §8 vector and matches node:crypto both ways on random input', () => {
    const addon = nativeAddon();
    const key = Buffer.from('df7994934fec919d111217a2ec3e0f71f30ae8d4befd28bc1a556fe7507bd966', 'hex');
    const body = Buffer.alloc(64);
    Buffer.from('010003000568656c6c6f', 'hex').copy(body);
    expect(addon.sealCell(key, 0x002a0001, 7, body).toString('hex')).toBe(
      '002a00010000000000000007' +
        '4964412e86ea41b0bf9677dfc5fe6455561685995c3eda6d58967684888bf64cc3dba9a1060167458422689bee11315a342115b3596b4bcf0ed4cc04cdfe09ab' +
        'f0ef68f85b0c3f85351d80f0e89422dd',
    );
    const opened = new Opened();
    for (let i = 0; i < 200; i++) {
      const k = randomBytes(32);
      const b = randomBytes(1 + (i % 1400));
      const counter = Math.floor(Math.random() * 2 ** 53);
      const n = addon.sealCell(k, i * 7919, counter, b);
      expect(n.equals(sealCell(cellKey(k), i * 7919, counter, b))).toBe(true);
      expect(openCell(cellKey(k), n, opened)).toBe(0);
      expect(addon.openCell(k, n)?.equals(b)).toBe(true);
      n[n.length - 1 - (i % 16)]! ^= 1;
      expect(addon.openCell(k, n)).toBeNull();
    }
  });
});
