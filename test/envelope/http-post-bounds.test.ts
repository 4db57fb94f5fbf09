/**
 * HTTP posts in progress per address are bounded (envelope.maxPostsInProgressPerAddress): a client
 * sending bodies slowly cannot pin more than that many bodies in memory; past it 429 rate_limited,
 * and a slot comes back when its post is answered or aborted.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeB64url } from '../../src/wire/envelope-protocol.js';
import { until } from '../helpers/raw-reader.js';
import { httpPost, startTestRelay, type TestRelay } from '../helpers/relay.js';

let relay: TestRelay;
const mailbox = encodeB64url(new Uint8Array(32).fill(3));
const path = `/v1/mailboxes/${mailbox}/envelopes`;
/** Posts whose headers the relay has taken and whose answer is not sent yet. */
const posts = (): number => relay.metric('xrelay_envelope_posts_in_progress');

beforeAll(async () => {
  relay = await startTestRelay({ envelope: { maxPostsInProgressPerAddress: 2 } }, { logLevel: 'warn' });
});
afterAll(() => relay.dispose());

/** A post whose headers and first 100 body bytes are sent; the rest waits for `finish()`. */
async function slowPost(): Promise<{ socket: Socket; answer: () => string; finish(): void }> {
  const { port } = new URL(relay.url);
  const socket = connect(Number(port), '127.0.0.1');
  socket.on('error', () => undefined);
  let answer = '';
  socket.on('data', (d) => (answer += String(d)));
  const before = posts();
  socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nContent-Length: 1024\r\n\r\n`);
  socket.write(Buffer.alloc(100));
  await until(() => posts() === before + 1); // this post holds a slot
  return { socket, answer: () => answer, finish: () => socket.write(Buffer.alloc(924)) };
}

describe('HTTP posts in progress per address', () => {
  it('past the cap: 429 rate_limited; answered and aborted posts give their slot back', async () => {
    const a = await slowPost();
    const b = await slowPost();
    expect(relay.metric('xrelay_envelope_posts_in_progress')).toBe(2);
    const refused = await httpPost(relay.url + path, new Uint8Array(1024));
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('rate_limited');
    expect(refused.headers.get('retry-after')).toBe('1');

    a.finish();
    await until(() => a.answer().includes('\r\n\r\n'));
    expect(a.answer()).toMatch(/^HTTP\/1\.1 202/);
    b.socket.destroy(); // aborted mid-body
    await until(() => relay.metric('xrelay_envelope_posts_in_progress') === 0);
    expect(relay.envelope.service.storeStats()!.envelopes).toBe(1);

    // Both slots are free again: two slow posts are admitted, a third request is refused.
    const c = await slowPost();
    const d = await slowPost();
    expect((await httpPost(relay.url + path, new Uint8Array(1024))).status).toBe(429);
    expect(c.answer()).toBe('');
    expect(d.answer()).toBe('');
    for (const s of [a, c, d]) s.socket.destroy();
    await until(() => relay.metric('xrelay_envelopes_rejected_total{code="rate_limited"}') === 2);
  });
});
