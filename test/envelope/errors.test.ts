/**
 * Must-show 3: every error code of the envelope plane, produced through real sockets, while an
 * honest reader on the same relay keeps receiving its envelopes undisturbed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sodium from 'libsodium-wrappers';
import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { MailboxReader, generateMailboxKeys, postEnvelope, type MailboxKeys } from '../../src/client/index.js';
import { authMessage, encodeB64url, POST_PATH, READER_PATH, encodePostFrame } from '../../src/wire/envelope-protocol.js';
import { httpPost, startTestRelay, tempDir, type TestRelay } from '../helpers/relay.js';
import { openRaw } from '../helpers/ws.js';

let relay: TestRelay;
let honest: MailboxKeys;
let honestReader: MailboxReader;
const honestGot: string[] = [];

beforeAll(async () => {
  relay = await startTestRelay({ envelope: { authTimeoutSec: 1, mailboxMaxCount: 3, postBurst: 1000 } });
  honest = await generateMailboxKeys();
  honestReader = new MailboxReader({ relayUrl: relay.url, keys: honest, autoAck: true });
  honestReader.on('envelope', (e) => honestGot.push(e.id));
  await honestReader.connect();
});
afterAll(async () => {
  honestReader.close();
  await relay.dispose();
});

/** Between hostile steps: the honest reader still gets a live envelope. */
async function honestStillServed(): Promise<void> {
  const before = honestGot.length;
  await postEnvelope(relay.url, honest.mailboxId, new Uint8Array(256));
  await expect.poll(() => honestGot.length).toBe(before + 1);
}

const postUrl = (mailbox: string): string => `${relay.url}/v1/mailboxes/${mailbox}/envelopes`;

async function signedAuth(keys: MailboxKeys, challenge: string, mailbox = keys.mailboxId) {
  return {
    type: 'auth',
    mailbox: encodeB64url(mailbox),
    publicKey: encodeB64url(keys.publicKey),
    challenge,
    signature: encodeB64url(sodium.crypto_sign_detached(authMessage(Buffer.from(challenge, 'base64url'), mailbox), keys.secretKey)),
  };
}

describe('HTTP post errors', () => {
  it('bad_mailbox (400) for a mailbox that is not 32 bytes of unpadded base64url', async () => {
    for (const bad of ['abc', encodeB64url(new Uint8Array(31)), encodeB64url(new Uint8Array(32)) + '=', '%00'.repeat(32)]) {
      const r = await httpPost(postUrl(bad), new Uint8Array(256));
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('bad_mailbox');
    }
    await honestStillServed();
  });

  it('size_not_allowed (413) lists the buckets, declared or streamed', async () => {
    const mb = encodeB64url(new Uint8Array(32).fill(7));
    const r = await httpPost(postUrl(mb), new Uint8Array(300));
    expect(r.status).toBe(413);
    expect(r.body.error.code).toBe('size_not_allowed');
    expect(r.body.error.message).toContain('256, 1024, 4096, 16384, 65536');
    const big = await httpPost(postUrl(mb), new Uint8Array(70_000));
    expect(big.body.error.code).toBe('size_not_allowed');
    const empty = await httpPost(postUrl(mb), new Uint8Array(0));
    expect(empty.body.error.code).toBe('size_not_allowed');
    await honestStillServed();
  });

  it('mailbox_full (507) past the per-mailbox count quota; other mailboxes unaffected', async () => {
    const mb = encodeB64url(new Uint8Array(32).fill(9));
    for (let i = 0; i < 3; i++) expect((await httpPost(postUrl(mb), new Uint8Array(256))).status).toBe(202);
    const r = await httpPost(postUrl(mb), new Uint8Array(256));
    expect(r.status).toBe(507);
    expect(r.body.error.code).toBe('mailbox_full');
    await honestStillServed();
  });

  it('not_found and method_not_allowed for unknown routes', async () => {
    expect((await fetch(`${relay.url}/nope`)).status).toBe(404);
    const r = await fetch(postUrl(encodeB64url(new Uint8Array(32))));
    expect(r.status).toBe(405);
    expect(((await r.json()) as any).error.code).toBe('method_not_allowed');
  });
});

describe('reader socket refusals close the socket with a code', () => {
  it('bad_frame for garbage: binary, non-JSON, JSON array, unknown type', async () => {
    const garbage: Array<(ws: import('ws').WebSocket) => void> = [
      (ws) => ws.send(Buffer.from([0xde, 0xad, 0xbe, 0xef])),
      (ws) => ws.send('{not json'),
      (ws) => ws.send('[1,2,3]'),
    ];
    for (const send of garbage) {
      const s = await openRaw(relay.url, READER_PATH);
      await s.next('challenge');
      send(s.ws);
      const err = await s.next('error');
      expect(err.code).toBe('bad_frame');
      expect(await s.closed).toEqual({ code: 4400, reason: 'bad_frame' });
    }
    // After authentication too: an unknown message type or a malformed ack.
    const keys = await generateMailboxKeys();
    for (const bad of [{ type: 'launch-missiles' }, { type: 'ack', ids: ['not-an-id'] }, { type: 'ack', ids: [] }]) {
      const s = await openRaw(relay.url, READER_PATH);
      s.sendJson(await signedAuth(keys, (await s.next('challenge')).challenge));
      await s.next('ready');
      s.sendJson(bad);
      expect((await s.next('error')).code).toBe('bad_frame');
      expect((await s.closed).code).toBe(4400);
    }
    // A frame past the largest envelope is cut off by the WebSocket layer itself (1009, message too big).
    const big = await openRaw(relay.url, READER_PATH);
    await big.next('challenge');
    big.ws.send(Buffer.alloc(200_000, 0xff));
    expect((await big.closed).code).toBe(1009);
    await honestStillServed();
  });

  it('auth_required when acking before answering the challenge', async () => {
    const s = await openRaw(relay.url, READER_PATH);
    await s.next('challenge');
    s.sendJson({ type: 'ack', ids: ['AAAAAAAAAAAAAAAAAAAAAA'] });
    expect((await s.next('error')).code).toBe('auth_required');
    expect((await s.closed).code).toBe(4401);
  });

  it('bad_signature when the signature does not verify', async () => {
    const keys = await generateMailboxKeys();
    const s = await openRaw(relay.url, READER_PATH);
    const { challenge } = await s.next('challenge');
    const auth = await signedAuth(keys, challenge);
    const sig = Buffer.from(auth.signature, 'base64url');
    sig[0]! ^= 1;
    s.sendJson({ ...auth, signature: encodeB64url(sig) });
    expect((await s.next('error')).code).toBe('bad_signature');
    expect(await s.closed).toEqual({ code: 4401, reason: 'bad_signature' });
    await honestStillServed();
  });

  it('bad_key when the key does not own the mailbox, or is not a valid key', async () => {
    const mallory = await generateMailboxKeys();
    const s = await openRaw(relay.url, READER_PATH);
    const { challenge } = await s.next('challenge');
    // Mallory signs correctly with her key but claims the honest mailbox.
    s.sendJson(await signedAuth(mallory, challenge, honest.mailboxId));
    expect((await s.next('error')).code).toBe('bad_key');
    expect((await s.closed).reason).toBe('bad_key');

    const t = await openRaw(relay.url, READER_PATH);
    const c2 = await t.next('challenge');
    t.sendJson({ ...(await signedAuth(mallory, c2.challenge)), publicKey: 'short' });
    expect((await t.next('error')).code).toBe('bad_key');
    await honestStillServed();
  });

  it('challenge_reused when a captured answer is replayed on a new connection', async () => {
    const keys = await generateMailboxKeys();
    const first = await openRaw(relay.url, READER_PATH);
    const { challenge } = await first.next('challenge');
    const answer = await signedAuth(keys, challenge);
    first.sendJson(answer);
    await first.next('ready');
    first.ws.close();

    const replay = await openRaw(relay.url, READER_PATH);
    await replay.next('challenge');
    replay.sendJson(answer);
    expect((await replay.next('error')).code).toBe('challenge_reused');
    expect(await replay.closed).toEqual({ code: 4401, reason: 'challenge_reused' });
    expect(relay.metric('xrelay_mailbox_auth_total{result="challenge_reused"}')).toBe(1);
  });

  it('bad_challenge when answering a challenge the relay never issued', async () => {
    const keys = await generateMailboxKeys();
    const s = await openRaw(relay.url, READER_PATH);
    await s.next('challenge');
    s.sendJson(await signedAuth(keys, encodeB64url(new Uint8Array(32).fill(1))));
    expect((await s.next('error')).code).toBe('bad_challenge');
  });

  it('auth_timeout when the challenge goes unanswered', async () => {
    const s = await openRaw(relay.url, READER_PATH);
    await s.next('challenge');
    expect((await s.next('error')).code).toBe('auth_timeout');
    expect((await s.closed).code).toBe(4408);
  });

  it('unknown_provider for a push provider that is not configured (socket stays open)', async () => {
    const keys = await generateMailboxKeys();
    const reader = new MailboxReader({ relayUrl: relay.url, keys });
    await reader.connect();
    await expect(reader.registerPush('carrier-pigeon', 'tok')).rejects.toThrow(/unknown_provider/);
    expect(reader.connected).toBe(true);
    reader.close();
  });
});

describe('post socket', () => {
  it('answers per-request codes by tag, and bad_frame closes only that socket', async () => {
    const s = await openRaw(relay.url, POST_PATH);
    s.ws.send(encodePostFrame(7, new Uint8Array(32).fill(3), new Uint8Array(10)));
    const err = await s.next('error');
    expect(err).toMatchObject({ tag: 7, code: 'size_not_allowed' });
    s.ws.send('hello');
    expect((await s.next('error')).code).toBe('bad_frame');
    expect((await s.closed).code).toBe(4400);
    await honestStillServed();
  });
});

describe('rate_limited (429 with Retry-After)', () => {
  it('refuses past the burst and tells when to retry', async () => {
    const r2 = await startTestRelay({ envelope: { postRatePerSec: 1, postBurst: 3 } });
    try {
      const mb = encodeB64url(new Uint8Array(32).fill(5));
      const statuses: number[] = [];
      let last: Awaited<ReturnType<typeof httpPost>> | undefined;
      for (let i = 0; i < 5; i++) {
        last = await httpPost(`${r2.url}/v1/mailboxes/${mb}/envelopes`, new Uint8Array(256));
        statuses.push(last.status);
      }
      expect(statuses).toEqual([202, 202, 202, 429, 429]);
      expect(last!.body.error.code).toBe('rate_limited');
      expect(Number(last!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(r2.metric('xrelay_envelopes_rejected_total{code="rate_limited"}')).toBe(2);
    } finally {
      await r2.dispose();
    }
  });
});

describe('mailbox_full for the global storage cap', () => {
  it('refuses when the relay-wide byte cap is reached', async () => {
    const r2 = await startTestRelay({ envelope: { storeMaxBytes: 1024 } });
    try {
      const url = (n: number) => `${r2.url}/v1/mailboxes/${encodeB64url(new Uint8Array(32).fill(n))}/envelopes`;
      for (let i = 0; i < 4; i++) expect((await httpPost(url(i), new Uint8Array(256))).status).toBe(202);
      const r = await httpPost(url(9), new Uint8Array(256));
      expect(r.status).toBe(507);
      expect(r.body.error.code).toBe('mailbox_full');
    } finally {
      await r2.dispose();
    }
  });
});

describe('store_unavailable (503) while the store cannot open', () => {
  it('stays live, reports not ready, refuses posts, then recovers when the volume appears', async () => {
    const dir = tempDir();
    const blocked = join(dir, 'data');
    writeFileSync(blocked, 'not a directory');
    const r2 = await startTestRelay({}, { dataDir: blocked });
    try {
      expect((await fetch(`${r2.url}/healthz`)).status).toBe(200);
      const ready = await fetch(`${r2.url}/readyz`);
      expect(ready.status).toBe(503);
      const r = await httpPost(`${r2.url}/v1/mailboxes/${encodeB64url(new Uint8Array(32))}/envelopes`, new Uint8Array(256));
      expect(r.status).toBe(503);
      expect(r.body.error.code).toBe('store_unavailable');
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      rmSync(blocked);
      await expect.poll(async () => (await fetch(`${r2.url}/readyz`)).status, { timeout: 8000, interval: 200 }).toBe(200);
      const ok = await httpPost(`${r2.url}/v1/mailboxes/${encodeB64url(new Uint8Array(32))}/envelopes`, new Uint8Array(256));
      expect(ok.status).toBe(202);
    } finally {
      await r2.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
