/** The reader protocol's sans-IO decisions: auth, ack and push frames, and the unacknowledged window. */
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { mailboxIdOf } from '../../src/crypto/mailbox-auth.js';
import { ChallengeBook } from '../../src/envelope/core/challenge-book.js';
import { MAX_ACK_IDS, UnackedWindow, checkAuth, parseAckIds, parsePushRegistration } from '../../src/envelope/core/reader-protocol.js';
import { RelayError } from '../../src/errors.js';
import { authMessage, encodeB64url } from '../../src/wire/envelope-protocol.js';

function keyPair(): { publicKey: Uint8Array; sign(msg: Uint8Array): Uint8Array } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }).subarray(-32));
  return { publicKey: raw, sign: (msg) => new Uint8Array(sign(null, msg, privateKey)) };
}

function authFrame(k: ReturnType<typeof keyPair>, challenge: Uint8Array, mailbox = mailboxIdOf(k.publicKey)): Record<string, unknown> {
  return { type: 'auth', mailbox: encodeB64url(mailbox), publicKey: encodeB64url(k.publicKey), challenge: encodeB64url(challenge), signature: encodeB64url(k.sign(authMessage(challenge, mailbox))) };
}

const codeOf = (v: unknown): string | undefined => (v instanceof RelayError ? v.code : undefined);

describe('checkAuth', () => {
  it('accepts the key holder once, then refuses the same answer as challenge_reused', () => {
    const book = new ChallengeBook(60_000, () => 0);
    const k = keyPair();
    const challenge = randomBytes(32);
    book.issue(challenge);
    const ok = checkAuth(authFrame(k, challenge), challenge, book);
    expect(ok).toEqual(mailboxIdOf(k.publicKey));
    expect(codeOf(checkAuth(authFrame(k, challenge), challenge, book))).toBe('challenge_reused');
  });

  it('refuses with the stable code of each fault', () => {
    const k = keyPair();
    const other = keyPair();
    const fresh = (): [Uint8Array, ChallengeBook] => {
      const book = new ChallengeBook(60_000, () => 0);
      const c = randomBytes(32);
      book.issue(c);
      return [c, book];
    };
    let [c, book] = fresh();
    expect(codeOf(checkAuth({ ...authFrame(k, c), mailbox: 'short' }, c, book))).toBe('bad_mailbox');
    [c, book] = fresh();
    expect(codeOf(checkAuth({ ...authFrame(k, c), publicKey: 'x' }, c, book))).toBe('bad_key');
    [c, book] = fresh();
    expect(codeOf(checkAuth({ ...authFrame(k, c), signature: undefined }, c, book))).toBe('bad_frame');
    [c, book] = fresh();
    expect(codeOf(checkAuth(authFrame(k, randomBytes(32)), c, book))).toBe('bad_challenge');
    [c, book] = fresh();
    expect(codeOf(checkAuth(authFrame(other, c, mailboxIdOf(k.publicKey)), c, book))).toBe('bad_key');
    [c, book] = fresh();
    expect(codeOf(checkAuth({ ...authFrame(k, c), signature: encodeB64url(k.sign(randomBytes(10))) }, c, book))).toBe('bad_signature');
  });
});

describe('ack and push frames', () => {
  it('parses 1..MAX_ACK_IDS ids of 16 bytes and refuses the rest as bad_frame', () => {
    const ids = [randomBytes(16), randomBytes(16)];
    expect(parseAckIds(ids.map(encodeB64url))).toEqual(ids.map((b) => new Uint8Array(b)));
    expect(codeOf(parseAckIds([]))).toBe('bad_frame');
    expect(codeOf(parseAckIds('nope'))).toBe('bad_frame');
    expect(codeOf(parseAckIds([encodeB64url(randomBytes(15))]))).toBe('bad_frame');
    expect(codeOf(parseAckIds(Array.from({ length: MAX_ACK_IDS + 1 }, () => encodeB64url(randomBytes(16)))))).toBe('bad_frame');
  });

  it('takes a provider and a bounded token', () => {
    expect(parsePushRegistration('webhook', 't')).toEqual({ provider: 'webhook', token: 't' });
    expect(codeOf(parsePushRegistration('webhook', ''))).toBe('bad_frame');
    expect(codeOf(parsePushRegistration(7, 't'))).toBe('bad_frame');
    expect(codeOf(parsePushRegistration('webhook', 'x'.repeat(4097)))).toBe('bad_frame');
  });
});

describe('UnackedWindow', () => {
  it('bounds count and bytes, always fits one envelope, and frees on ack', () => {
    const w = new UnackedWindow(3, 100);
    const [a, b, c] = [randomBytes(16), randomBytes(16), randomBytes(16)];
    expect(w.fits(500)).toBe(true); // empty: one envelope fits whatever its size
    w.add(a, 60);
    expect(w.fits(41)).toBe(false);
    expect(w.fits(40)).toBe(true);
    w.add(b, 40);
    expect(w.room()).toBe(1);
    expect(w.ack([randomBytes(16)])).toBe(false); // unknown ids: no progress
    expect(w.ack([a])).toBe(true);
    expect(w.fits(60)).toBe(true);
    w.add(c, 60);
    expect([w.size, w.room()]).toEqual([2, 1]);
    w.clear();
    expect([w.size, w.fits(100)]).toEqual([0, true]);
  });
});
