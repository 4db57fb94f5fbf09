/**
 * Weak mailbox keys through the real reader WebSocket (issue 9, item 6): a relay on port 0, one
 * connection per case, each refused with its stable code while an honest reader keeps its mail.
 * Where node:crypto alone would accept the forged answer (the identity key: R = identity, S = 0),
 * the test says so first, so it fails on a relay without the strict checks.
 */
import { createPublicKey, verify } from 'node:crypto';
import sodium from 'libsodium-wrappers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailboxReader, generateMailboxKeys, postEnvelope, type MailboxKeys } from '../../src/client/index.js';
import { mailboxIdOf } from '../../src/crypto/mailbox-auth.js';
import { READER_PATH, authMessage, encodeB64url } from '../../src/wire/envelope-protocol.js';
import { NON_CANONICAL_CASES, OFF_CURVE_CASES, SMALL_ORDER_CASES, TORSION_ENCODINGS, addOrderTwo, encodeY, withSPlusL } from '../crypto/ed25519-cases.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { openRaw } from '../helpers/ws.js';

let relay: TestRelay;
let honest: MailboxKeys;
let honestReader: MailboxReader;
const honestGot: string[] = [];

beforeAll(async () => {
  await sodium.ready;
  relay = await startTestRelay({ envelope: { postBurst: 1000 } });
  honest = await generateMailboxKeys();
  honestReader = new MailboxReader({ relayUrl: relay.url, keys: honest, autoAck: true });
  honestReader.on('envelope', (e) => honestGot.push(e.id));
  await honestReader.connect();
});
afterAll(async () => {
  honestReader.close();
  await relay.dispose();
});

const SPKI = Buffer.from('302a300506032b6570032100', 'hex');
function nodeVerifies(key: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    return verify(null, message, createPublicKey({ key: Buffer.concat([SPKI, key]), format: 'der', type: 'spki' }), signature);
  } catch {
    return false;
  }
}

/**
 * One reader connection: `sign` gets the challenge message and returns the signature to send
 * (undefined: try a new connection, bounded). Returns the refusal code and close frame.
 */
async function answer(key: Uint8Array, sign: (msg: Uint8Array) => Uint8Array | undefined, tries = 1): Promise<{ code: string; close: { code: number; reason: string } }> {
  const mailbox = mailboxIdOf(key);
  for (let i = 0; i < tries; i++) {
    const s = await openRaw(relay.url, READER_PATH);
    const { challenge } = await s.next('challenge');
    const signature = sign(authMessage(Buffer.from(challenge, 'base64url'), mailbox));
    if (signature === undefined) {
      s.ws.close();
      await s.closed;
      continue;
    }
    s.sendJson({ type: 'auth', mailbox: encodeB64url(mailbox), publicKey: encodeB64url(key), challenge, signature: encodeB64url(signature) });
    // A relay without the strict checks answers `ready`: report that instead of waiting for an error.
    const first = await Promise.race([
      s.next('error').then((e) => e.code as string, () => 'closed'),
      s.next('ready').then(() => 'authenticated', () => 'closed'),
    ]);
    if (first === 'authenticated') s.ws.close();
    return { code: first, close: await s.closed };
  }
  throw new Error(`no usable signature in ${tries} connections`);
}

/** R || 0 with R a torsion encoding node:crypto accepts for this key and message; else R = identity. */
function forge(key: Uint8Array, msg: Uint8Array): Buffer {
  for (const r of TORSION_ENCODINGS) {
    const sig = Buffer.concat([r, Buffer.alloc(32)]);
    if (nodeVerifies(key, msg, sig)) return sig;
  }
  return Buffer.concat([encodeY(1n), Buffer.alloc(32)]);
}

async function honestStillServed(): Promise<void> {
  const before = honestGot.length;
  await postEnvelope(relay.url, honest.mailboxId, new Uint8Array(256));
  await expect.poll(() => honestGot.length).toBe(before + 1);
}

describe('weak keys over /v1/mailbox are refused with bad_key', () => {
  it('the identity key with R = identity, S = 0 (the attack of issue 9 item 6): the relay says bad_key', async () => {
    const identity = SMALL_ORDER_CASES[0]!.key;
    const r = await answer(identity, (msg) => {
      const sig = Buffer.concat([encodeY(1n), Buffer.alloc(32)]);
      // Node 20's OpenSSL accepts this forgery; OpenSSL 3.5 (Node 24) refuses it itself. The relay must
      // refuse it either way, so the runtime's own answer is printed, not asserted.
      console.log(`[weak keys] node:crypto on OpenSSL ${process.versions.openssl} ${nodeVerifies(identity, msg, sig) ? 'accepts' : 'refuses'} the identity-key forgery by itself`);
      return sig;
    });
    expect(r).toEqual({ code: 'bad_key', close: { code: 4401, reason: 'bad_key' } });
  });

  for (const c of [...SMALL_ORDER_CASES.slice(1), ...NON_CANONICAL_CASES, ...OFF_CURVE_CASES]) {
    it(`${c.name} (${c.verdict})`, async () => {
      const r = await answer(c.key, (msg) => forge(c.key, msg));
      expect(r).toEqual({ code: 'bad_key', close: { code: 4401, reason: 'bad_key' } });
    });
  }

  it('a key with a torsion component, signed so that node:crypto verifies it: bad_key', async () => {
    const kp = sodium.crypto_sign_keypair();
    const mixed = addOrderTwo(kp.publicKey);
    const sk = Uint8Array.from(kp.privateKey);
    sk.set(mixed, 32); // libsodium hashes the public key it finds in the secret key
    let verifiedByNode = false;
    const r = await answer(mixed, (msg) => {
      const sig = sodium.crypto_sign_detached(msg, sk);
      if (!nodeVerifies(mixed, msg, sig)) return undefined; // half the challenges; try another connection
      verifiedByNode = true;
      return sig;
    }, 40);
    expect(verifiedByNode).toBe(true);
    expect(r).toEqual({ code: 'bad_key', close: { code: 4401, reason: 'bad_key' } });
    await honestStillServed();
  });
});

describe('non-canonical signatures over /v1/mailbox are refused with bad_signature', () => {
  // OpenSSL already refuses S >= L; the relay checks it itself too, so it holds whatever node links.
  it('S + L in place of S', async () => {
    const kp = sodium.crypto_sign_keypair();
    const r = await answer(kp.publicKey, (msg) => withSPlusL(sodium.crypto_sign_detached(msg, kp.privateKey)));
    expect(r).toEqual({ code: 'bad_signature', close: { code: 4401, reason: 'bad_signature' } });
  });

  it('an honest key still authenticates, and the honest reader was served throughout', async () => {
    const keys = await generateMailboxKeys();
    const reader = new MailboxReader({ relayUrl: relay.url, keys, autoAck: true });
    const got: string[] = [];
    reader.on('envelope', (e) => got.push(e.id));
    await reader.connect();
    await postEnvelope(relay.url, keys.mailboxId, new Uint8Array(1024));
    await expect.poll(() => got.length).toBe(1);
    reader.close();
    await honestStillServed();
    expect(relay.metric('xrelay_mailbox_auth_total{result="bad_key"}')).toBe(SMALL_ORDER_CASES.length + NON_CANONICAL_CASES.length + OFF_CURVE_CASES.length + 1);
  });
});
