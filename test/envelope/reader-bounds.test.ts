/**
 * Issue 9 items 3 and 9 on real sockets: readers per mailbox are capped (the newest replaces the
 * oldest, which gets 4409 reader_replaced), the in-flight window counts bytes as well as envelopes,
 * and refusals before authentication (auth_timeout, auth_required, bad_frame) are counted in
 * xrelay_mailbox_auth_total, after it in xrelay_envelopes_rejected_total.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateMailboxKeys, postEnvelope } from '../../src/client/index.js';
import { READER_PATH, decodeEnvelopeFrame, encodeB64url } from '../../src/wire/envelope-protocol.js';
import { signedAuth, until } from '../helpers/raw-reader.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { openRaw, type RawSocket } from '../helpers/ws.js';

let relay: TestRelay;
beforeAll(async () => {
  relay = await startTestRelay({ envelope: { maxReadersPerMailbox: 2, maxInflightBytesPerReader: 3000, authTimeoutSec: 1 } }, { logLevel: 'warn' });
});
afterAll(() => relay.dispose());

async function reader(keys: Awaited<ReturnType<typeof generateMailboxKeys>>): Promise<RawSocket> {
  const s = await openRaw(relay.url, READER_PATH);
  const { challenge } = await s.next('challenge');
  s.sendJson(await signedAuth(keys, challenge as string));
  await s.next('ready');
  return s;
}

const binaries = (s: RawSocket): Buffer[] => s.messages.filter((m): m is Buffer => Buffer.isBuffer(m));

/** A round trip through the reader's message queue: the relay answers after everything sent before. */
async function probe(s: RawSocket): Promise<void> {
  s.sendJson({ type: 'register_push', provider: 'no-such-provider', token: 't' });
  expect((await s.next('error')).code).toBe('unknown_provider');
}

describe('readers per mailbox', () => {
  it('past maxReadersPerMailbox the oldest reader is replaced (4409 reader_replaced); other mailboxes unaffected', async () => {
    const keys = await generateMailboxKeys();
    const other = await reader(await generateMailboxKeys());
    const first = await reader(keys);
    const second = await reader(keys);
    const readersBefore = relay.metric('xrelay_mailbox_readers');
    const third = await reader(keys);
    expect((await first.next('error')).code).toBe('reader_replaced');
    expect(await first.closed).toEqual({ code: 4409, reason: 'reader_replaced' });
    expect(relay.metric('xrelay_envelopes_rejected_total{code="reader_replaced"}')).toBe(1);
    expect(relay.metric('xrelay_mailbox_readers')).toBe(readersBefore); // one in, one out
    // The two newest both receive a live envelope; the other mailbox's reader still works.
    const { id } = await postEnvelope(relay.url, keys.mailboxId, new Uint8Array(256));
    for (const s of [second, third]) {
      await until(() => binaries(s).some((b) => encodeB64url(decodeEnvelopeFrame(b)!.id) === id));
    }
    await probe(other);
    for (const s of [other, second, third]) s.ws.close();
  });
});

describe('in-flight window in bytes', () => {
  it('holds unacknowledged bytes to maxInflightBytesPerReader; acks make room', async () => {
    const keys = await generateMailboxKeys();
    for (let i = 0; i < 6; i++) await postEnvelope(relay.url, keys.mailboxId, new Uint8Array(1024));
    const s = await reader(keys);
    // Each frame is 1 + 16 + 1024 = 1041 bytes: two fit in 3000, a third would not.
    await until(() => binaries(s).length === 2);
    await probe(s);
    expect(binaries(s)).toHaveLength(2);
    s.sendJson({ type: 'ack', ids: [encodeB64url(decodeEnvelopeFrame(binaries(s)[0]!)!.id)] });
    await until(() => binaries(s).length === 3);
    await probe(s);
    expect(binaries(s)).toHaveLength(3);
    s.ws.close();
  });

  it('one envelope larger than the byte window is still sent, alone', async () => {
    const keys = await generateMailboxKeys();
    for (let i = 0; i < 2; i++) await postEnvelope(relay.url, keys.mailboxId, new Uint8Array(4096));
    const s = await reader(keys);
    await until(() => binaries(s).length === 1);
    await probe(s);
    expect(binaries(s)).toHaveLength(1);
    s.ws.close();
  });
});

describe('refusals are counted', () => {
  const auth = (result: string): number => relay.metric(`xrelay_mailbox_auth_total{result="${result}"}`);

  it('auth_timeout, auth_required and pre-auth bad_frame in xrelay_mailbox_auth_total', async () => {
    const timeout = await openRaw(relay.url, READER_PATH);
    expect((await timeout.next('error')).code).toBe('auth_timeout');
    expect(await timeout.closed).toEqual({ code: 4408, reason: 'auth_timeout' });
    expect(auth('auth_timeout')).toBe(1);

    const early = await openRaw(relay.url, READER_PATH);
    early.sendJson({ type: 'ack', ids: ['x'] });
    expect(await early.closed).toEqual({ code: 4401, reason: 'auth_required' });
    expect(auth('auth_required')).toBe(1);

    const garbage = await openRaw(relay.url, READER_PATH);
    garbage.ws.send('not json');
    expect(await garbage.closed).toEqual({ code: 4400, reason: 'bad_frame' });
    const binary = await openRaw(relay.url, READER_PATH);
    binary.ws.send(Buffer.from([1, 2, 3]));
    expect(await binary.closed).toEqual({ code: 4400, reason: 'bad_frame' });
    expect(auth('bad_frame')).toBe(2);
  });

  it('bad_frame after authentication in xrelay_envelopes_rejected_total', async () => {
    const before = relay.metric('xrelay_envelopes_rejected_total{code="bad_frame"}');
    const s = await reader(await generateMailboxKeys());
    s.sendJson({ type: 'what' });
    expect(await s.closed).toEqual({ code: 4400, reason: 'bad_frame' });
    expect(relay.metric('xrelay_envelopes_rejected_total{code="bad_frame"}')).toBe(before + 1);
  });
});
