/** A join whose client leaves mid-body is a refusal counted as bad_join (before: an internal error, logged as a handler failure); the route keeps serving. */
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestRelay, sleep, type TestRelay } from './harness.js';

let relay: TestRelay | undefined;
afterEach(async () => {
  await relay?.close();
  relay = undefined;
});

describe('POST /v1/media/join, client gone mid-body', () => {
  it('settles as bad_join, and the next join is answered', async () => {
    relay = await startTestRelay();
    const port = Number(new URL(relay.url).port);
    const before = relay.metric('xrelay_media_joins_total{result="bad_join"}');
    const s = connect(port, '127.0.0.1');
    await new Promise<void>((r) => s.once('connect', () => r()));
    s.write('POST /v1/media/join HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 200\r\n\r\n{"room":');
    await sleep(100);
    s.destroy();
    for (let i = 0; i < 50 && relay.metric('xrelay_media_joins_total{result="bad_join"}') === before; i++) await sleep(20);
    expect(relay.metric('xrelay_media_joins_total{result="bad_join"}')).toBe(before + 1);
    const res = await fetch(`${relay.url}/v1/media/join`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('bad_join');
  });
});
