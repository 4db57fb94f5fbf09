/** The store contract on the embedded LMDB store. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { LmdbEnvelopeStore } from '../../src/envelope/store/lmdb-store.js';
import { describeStoreContract } from './store-contract.js';

const dirs: string[] = [];
let dir = '';
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describeStoreContract('lmdb', () => ({
  shared: false,
  fresh: async () => void dirs.push((dir = mkdtempSync(join(tmpdir(), 'xr-lmdb-contract-')))),
  open: async (limits) => LmdbEnvelopeStore.open(dir, limits),
}));
