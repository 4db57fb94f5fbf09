/** Must-show 1: a sealed envelope posted by one SDK client is read, opened and acknowledged by another, then gone. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailboxReader, PostSocket, generateMailboxKeys, openEnvelope, postEnvelope, sealEnvelope, type MailboxKeys, type ReceivedEnvelope } from '../../src/client/index.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';

let relay: TestRelay;
let bob: MailboxKeys;

beforeAll(async () => {
  relay = await startTestRelay();
  bob = await generateMailboxKeys();
});
afterAll(async () => relay.dispose());

function nextEnvelope(reader: MailboxReader): Promise<ReceivedEnvelope> {
  return new Promise((resolve) => reader.once('envelope', resolve));
}

describe('envelope round trip', () => {
  it('Alice seals and posts over HTTP; Bob reads, opens, acknowledges; the store is then empty', async () => {
    const secret = new TextEncoder().encode('meet at the usual place');
    const sealed = sealEnvelope(bob.publicKey, { kind: 'call-offer', body: secret });
    expect(sealed.length).toBe(256);
    const { id } = await postEnvelope(relay.url, bob.mailboxId, sealed);
    expect(relay.envelope.service.storeStats()).toEqual({ envelopes: 1, bytes: 256 });

    const reader = new MailboxReader({ relayUrl: relay.url, keys: bob });
    const got = nextEnvelope(reader);
    await reader.connect();
    const env = await got;
    expect(env.id).toBe(id);
    const opened = openEnvelope(bob, env.body);
    expect(opened.kind).toBe('call-offer');
    expect(new TextDecoder().decode(opened.body)).toBe('meet at the usual place');

    reader.ack([env.id]);
    await expect.poll(() => relay.envelope.service.storeStats()?.envelopes, { timeout: 5000 }).toBe(0);
    expect(relay.metric('xrelay_envelopes_delivered_total')).toBe(1);
    reader.close();

    // A fresh connection finds nothing: the envelope is gone, not merely hidden.
    const again = new MailboxReader({ relayUrl: relay.url, keys: bob });
    let redelivered = 0;
    again.on('envelope', () => redelivered++);
    await again.connect();
    await new Promise((r) => setTimeout(r, 200));
    expect(redelivered).toBe(0);
    again.close();
  });

  it('streams stored envelopes oldest first, then live ones; unacknowledged ones come back on reconnect', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await postEnvelope(relay.url, bob.mailboxId, sealEnvelope(bob.publicKey, { kind: 'chat', body: new Uint8Array([i]) }))).id);
    const reader = new MailboxReader({ relayUrl: relay.url, keys: bob });
    const seen: ReceivedEnvelope[] = [];
    reader.on('envelope', (e) => seen.push(e));
    await reader.connect();
    await expect.poll(() => seen.length).toBe(5);
    const live = await postEnvelope(relay.url, bob.mailboxId, sealEnvelope(bob.publicKey, { kind: 'chat', body: new Uint8Array([5]) }));
    await expect.poll(() => seen.length).toBe(6);
    expect(seen.map((e) => e.id)).toEqual([...ids, live.id]);
    expect(seen.map((e) => openEnvelope(bob, e.body).body[0])).toEqual([0, 1, 2, 3, 4, 5]);
    reader.ack(seen.slice(0, 3).map((e) => e.id));
    await expect.poll(() => relay.envelope.service.storeStats()?.envelopes).toBe(3);
    reader.close();

    const second = new MailboxReader({ relayUrl: relay.url, keys: bob, autoAck: true });
    const again: string[] = [];
    second.on('envelope', (e) => again.push(e.id));
    await second.connect();
    await expect.poll(() => again.length).toBe(3);
    expect(again).toEqual(seen.slice(3).map((e) => e.id));
    await expect.poll(() => relay.envelope.service.storeStats()?.envelopes).toBe(0);
    second.close();
  });

  it('drops a redelivered duplicate and repeats the lost ack instead of delivering twice', async () => {
    const reader = new MailboxReader({ relayUrl: relay.url, keys: bob, reconnectMinMs: 20 });
    const seen: string[] = [];
    reader.on('envelope', (e) => seen.push(e.id));
    await reader.connect();
    const { id } = await postEnvelope(relay.url, bob.mailboxId, sealEnvelope(bob.publicKey, { kind: 'chat', body: new Uint8Array(3) }));
    await expect.poll(() => seen.length).toBe(1);
    // Simulate an ack lost with the connection: mark it acknowledged locally, drop the socket before it is sent.
    (reader as unknown as { readyNow: boolean }).readyNow = false;
    reader.ack([id]);
    const ready = new Promise((r) => reader.once('ready', r));
    (reader as unknown as { ws: { terminate(): void } }).ws.terminate();
    await ready;
    await expect.poll(() => relay.envelope.service.storeStats()?.envelopes).toBe(0);
    expect(seen).toEqual([id]);
    reader.close();
  });

  it('posts over the anonymous /v1/post WebSocket with the same rules', async () => {
    const sock = await PostSocket.open(relay.url);
    const ids = await Promise.all([0, 1, 2].map((i) => sock.post(bob.mailboxId, sealEnvelope(bob.publicKey, { kind: 'chat', body: new Uint8Array([i]) }))));
    expect(new Set(ids).size).toBe(3);
    await expect(sock.post(bob.mailboxId, new Uint8Array(100))).rejects.toMatchObject({ code: 'size_not_allowed' });
    sock.close();
    const reader = new MailboxReader({ relayUrl: relay.url, keys: bob, autoAck: true });
    const got: string[] = [];
    reader.on('envelope', (e) => got.push(e.id));
    await reader.connect();
    await expect.poll(() => got.length).toBe(3);
    expect(got).toEqual(ids);
    reader.close();
  });
});
