/**
 * Issue 9 items 2 and 3, the mechanism on real sockets, with no timing assumption beyond generous
 * upper bounds: a `/v1/post` client that floods and never reads is paused (the relay stops reading
 * its frames) and closed with `slow_consumer`; a reader that never reads is held at the send-buffer
 * bound and closed the same way; an idle post socket is closed with `idle_timeout`; one address
 * cannot hold more than `maxSocketsPerAddress` sockets. Figures for RSS: loadtest/hardening/memory.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PostSocket, generateMailboxKeys, postEnvelope } from '../../src/client/index.js';
import { POST_PATH, READER_PATH } from '../../src/wire/envelope-protocol.js';
import { clientFrame, jsonFrames, rawUpgrade, type RawWs } from '../helpers/raw-ws.js';
import { rawReader, until } from '../helpers/raw-reader.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { openRaw } from '../helpers/ws.js';

let relay: TestRelay | undefined;
afterEach(async () => {
  await relay?.dispose();
  relay = undefined;
});

const BOUNDS = { socketMaxBufferedBytes: 1024, socketStallTimeoutSec: 1, postRatePerSec: 1_000_000, postBurst: 1_000_000 };

/** Reads what the relay sent (the socket was paused), until its close frame; returns code and reason. */
async function readToClose(raw: RawWs): Promise<{ closeCode: number | undefined; reason: string }> {
  raw.socket.resume();
  await until(() => raw.frames().some((f) => f.opcode === 8) || raw.socket.destroyed);
  raw.socket.destroy();
  return raw.ended;
}

describe('/v1/post backpressure', () => {
  it('a client that floods and never reads is paused, then closed with 4408 slow_consumer; its socket is freed', async () => {
    relay = await startTestRelay({ envelope: BOUNDS }, { logLevel: 'warn' });
    const r = relay;
    const raw = await rawUpgrade(r.url, POST_PATH);
    raw.socket.pause(); // never read the answers
    const frame = clientFrame(2, Buffer.alloc(36)); // tag || mailbox, no body: answered size_not_allowed
    const block = Buffer.concat(Array.from({ length: 1000 }, () => frame));
    const paused = (): number => r.metric('xrelay_envelope_socket_pauses_total{reason="post_buffered"}');
    let sent = 0;
    while (paused() === 0 && sent < 2_000_000 && !raw.socket.destroyed) {
      if (raw.socket.writableLength > 1 << 20) {
        await new Promise((res) => setTimeout(res, 20)); // the relay stopped reading, or is slow: let it catch up
        continue;
      }
      raw.socket.write(block);
      sent += 1000;
    }
    expect(paused()).toBeGreaterThan(0);
    await until(() => r.metric('xrelay_envelopes_rejected_total{code="slow_consumer"}') === 1);
    expect(r.metric('xrelay_envelope_sockets{kind="post"}')).toBe(1); // closing; freed once the peer is gone
    const end = await readToClose(raw);
    const answers = jsonFrames(raw);
    console.log(`post flood: ${sent} frames written, ${answers.length} answered before the close (relay stopped reading)`);
    expect(end).toEqual({ closeCode: 4408, reason: 'slow_consumer' });
    expect(answers.at(-1)).toMatchObject({ type: 'error', code: 'slow_consumer' });
    expect(answers.length).toBeLessThan(sent);
    await until(() => r.metric('xrelay_envelope_sockets{kind="post"}') === 0);
    // Honest clients are still served.
    const keys = await generateMailboxKeys();
    const post = await PostSocket.open(r.url);
    expect(await post.post(keys.mailboxId, new Uint8Array(256))).toMatch(/^[A-Za-z0-9_-]{22}$/);
    post.close();
  }, 60_000);

  it('an idle post socket is closed with 4408 idle_timeout; pings keep one open', async () => {
    relay = await startTestRelay({ envelope: { postIdleTimeoutSec: 3 } }, { logLevel: 'warn' });
    const s = await openRaw(relay.url, POST_PATH);
    const pinged = await openRaw(relay.url, POST_PATH);
    const pinger = setInterval(() => pinged.ws.ping(), 100);
    expect(await s.closed).toEqual({ code: 4408, reason: 'idle_timeout' });
    await new Promise((r) => setTimeout(r, 1500)); // 4.5 s or more since both opened: past the timeout
    clearInterval(pinger);
    expect(pinged.ws.readyState).toBe(pinged.ws.OPEN);
    expect(await pinged.closed).toEqual({ code: 4408, reason: 'idle_timeout' }); // once the pings stop
    expect(relay.metric('xrelay_envelopes_rejected_total{code="idle_timeout"}')).toBe(2);
  }, 30_000);
});

describe('reader backpressure', () => {
  it('a reader that never reads stops being sent envelopes at the send-buffer bound and is closed with slow_consumer', async () => {
    relay = await startTestRelay({ envelope: { ...BOUNDS, maxInflightPerReader: 1024, maxInflightBytesPerReader: 1 << 30 } }, { logLevel: 'warn' });
    const r = relay;
    const keys = await generateMailboxKeys();
    const body = new Uint8Array(65536);
    // 24 MiB: well over what loopback's socket buffers absorb for a peer that never reads (~11 MiB here).
    for (let i = 0; i < 384; i += 16) await Promise.all(Array.from({ length: 16 }, () => postEnvelope(r.url, keys.mailboxId, body)));
    const raw = await rawReader(r.url, keys);
    raw.socket.pause();
    await until(() => r.metric('xrelay_envelope_socket_pauses_total{reason="reader_buffered"}') > 0);
    await until(() => r.metric('xrelay_envelopes_rejected_total{code="slow_consumer"}') === 1);
    const end = await readToClose(raw);
    const delivered = raw.frames().filter((f) => f.opcode === 2).length;
    console.log(`non-reading reader: ${delivered} of 384 envelopes of 64 KiB sent before the relay stopped`);
    expect(end).toEqual({ closeCode: 4408, reason: 'slow_consumer' });
    expect(delivered).toBeLessThan(384);
    expect(r.envelope.service.storeStats()!.envelopes).toBe(384); // nothing acknowledged, nothing lost
  }, 90_000);
});

describe('per-address socket cap', () => {
  it('post and reader sockets together: past maxSocketsPerAddress a new one gets 4429 too_many_sockets', async () => {
    relay = await startTestRelay({ envelope: { maxSocketsPerAddress: 3 } }, { logLevel: 'warn' });
    const a = await openRaw(relay.url, POST_PATH);
    const b = await openRaw(relay.url, POST_PATH);
    const c = await openRaw(relay.url, READER_PATH);
    const refused = await openRaw(relay.url, POST_PATH);
    expect((await refused.next('error')).code).toBe('too_many_sockets');
    expect(await refused.closed).toEqual({ code: 4429, reason: 'too_many_sockets' });
    const refusedReader = await openRaw(relay.url, READER_PATH);
    expect(await refusedReader.closed).toEqual({ code: 4429, reason: 'too_many_sockets' });
    expect(relay.metric('xrelay_envelopes_rejected_total{code="too_many_sockets"}')).toBe(2);
    a.ws.close();
    await a.closed;
    await until(() => relay!.metric('xrelay_envelope_sockets{kind="post"}') === 1);
    const post = await PostSocket.open(relay.url); // the slot was freed
    expect(await post.post((await generateMailboxKeys()).mailboxId, new Uint8Array(256))).toMatch(/^[A-Za-z0-9_-]{22}$/);
    post.close();
    b.ws.close();
    c.ws.close();
  }, 30_000);
});
