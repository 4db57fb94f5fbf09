import { randomBytes } from 'node:crypto';
import sodium from 'libsodium-wrappers';
import { beforeAll, describe, expect, it } from 'vitest';
import { BodyWriter } from '../../src/media/codec/cell-body.js';
import { HEADER_BYTES } from '../../src/media/codec/cell-layout.js';
import { cellKey, openCell, Opened, OPEN_FORGED, OPEN_OK, sealCell } from '../../src/media/crypto/cell-aead.js';
import { generateHopKeyPair, hopKeyPairFromSecret, serverSessionKeys } from '../../src/media/crypto/hop-keys.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const seq = (start: number): Buffer => Buffer.from(Array.from({ length: 32 }, (_, i) => start + i));

/** docs/PROTOCOL.md §8 test vectors. */
export const VECTORS = {
  clientSecret: hex(seq(1)),
  serverSecret: hex(seq(0x80)),
  clientPublic: '07a37cbc142093c8b755dc1b10e86cb426374ad16aa853ed0bdfc0b2b86d1c7c',
  serverPublic: '493e82fc74464a59268817623d2053c5eb8e2cc4a988b4fee179ec6b010d531d',
  serverTx: 'df7994934fec919d111217a2ec3e0f71f30ae8d4befd28bc1a556fe7507bd966',
  serverRx: '48b58dd76d097c4c2de82b097c4aaf465cd5cff00d3b6cef51dedf89ae9dc1be',
  body64: '010003000568656c6c6f' + '00'.repeat(54),
  cell:
    '002a000100000000000000074964412e86ea41b0bf9677dfc5fe6455561685995c3eda6d58967684888bf64cc3dba9a1060167458422689bee11315a342115b3596b4bcf0ed4cc04cdfe09abf0ef68f85b0c3f85351d80f0e89422dd',
};

beforeAll(async () => {
  await sodium.ready;
});

describe('hop keys (crypto_kx on node:crypto)', () => {
  it('matches the pinned vector', () => {
    const server = hopKeyPairFromSecret(seq(0x80));
    expect(hex(server.publicKey)).toBe(VECTORS.serverPublic);
    expect(hex(sodium.crypto_scalarmult_base(seq(1)))).toBe(VECTORS.clientPublic);
    const keys = serverSessionKeys(server, Buffer.from(VECTORS.clientPublic, 'hex'))!;
    expect(hex(keys.tx)).toBe(VECTORS.serverTx);
    expect(hex(keys.rx)).toBe(VECTORS.serverRx);
  });

  it('is byte-compatible with libsodium crypto_kx on 50 random key pairs', () => {
    for (let i = 0; i < 50; i++) {
      const client = sodium.crypto_kx_keypair();
      const server = generateHopKeyPair();
      const ours = serverSessionKeys(server, client.publicKey)!;
      const theirs = sodium.crypto_kx_client_session_keys(client.publicKey, client.privateKey, server.publicKey);
      expect(hex(ours.tx)).toBe(hex(theirs.sharedRx));
      expect(hex(ours.rx)).toBe(hex(theirs.sharedTx));
    }
  });

  it('matches libsodium crypto_kx_server_session_keys from the same secret', () => {
    const sk = randomBytes(32);
    const ours = serverSessionKeys(hopKeyPairFromSecret(sk), sodium.crypto_kx_keypair().publicKey);
    expect(ours).toBeDefined();
    const serverKp = { publicKey: sodium.crypto_scalarmult_base(sk), privateKey: sk };
    const client = sodium.crypto_kx_keypair();
    const mine = serverSessionKeys(hopKeyPairFromSecret(sk), client.publicKey)!;
    const lib = sodium.crypto_kx_server_session_keys(serverKp.publicKey, serverKp.privateKey, client.publicKey);
    expect(hex(mine.rx)).toBe(hex(lib.sharedRx));
    expect(hex(mine.tx)).toBe(hex(lib.sharedTx));
  });

  it('refuses wrong-length and low-order public keys', () => {
    const server = generateHopKeyPair();
    expect(serverSessionKeys(server, new Uint8Array(31))).toBeUndefined();
    expect(serverSessionKeys(server, new Uint8Array(32))).toBeUndefined();
    const one = new Uint8Array(32);
    one[0] = 1;
    expect(serverSessionKeys(server, one)).toBeUndefined();
  });
});

describe('cell AEAD (ChaCha20-Poly1305 IETF, nonce = header)', () => {
  it('matches the pinned cell vector', () => {
    const body = new Uint8Array(64);
    const w = new BodyWriter();
    w.reset(body);
    w.add(3, Buffer.from('hello'));
    w.finish();
    expect(hex(body)).toBe(VECTORS.body64);
    expect(hex(sealCell(cellKey(Buffer.from(VECTORS.serverTx, 'hex')), 0x2a0001, 7, body))).toBe(VECTORS.cell);
  });

  it('interoperates with libsodium both ways', () => {
    const key = randomBytes(32);
    const body = randomBytes(480);
    const cell = sealCell(cellKey(key), 0xdeadbeef, 2 ** 40 + 5, body);
    const nonce = cell.subarray(0, HEADER_BYTES);
    const plain = sodium.crypto_aead_chacha20poly1305_ietf_decrypt(null, cell.subarray(HEADER_BYTES), null, nonce, key);
    expect(hex(plain)).toBe(hex(body));
    const ct = sodium.crypto_aead_chacha20poly1305_ietf_encrypt(body, null, null, nonce, key);
    const again = Buffer.concat([nonce, ct]);
    expect(hex(again)).toBe(hex(cell));
    const out = new Opened();
    expect(openCell(cellKey(key), again, out)).toBe(OPEN_OK);
    expect(hex(out.body)).toBe(hex(body));
  });

  it('flags any flipped bit as forged, without throwing', () => {
    const key = cellKey(randomBytes(32));
    const cell = sealCell(key, 1, 1, randomBytes(64));
    const out = new Opened();
    for (let i = 0; i < cell.length; i += 7) {
      const bad = Buffer.from(cell);
      bad[i]! ^= 0x10;
      expect(openCell(key, bad, out)).toBe(OPEN_FORGED);
    }
  });
});
