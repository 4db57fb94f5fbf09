/**
 * Issue 9, item 5: every malformed HTTP request gets the documented JSON answer over a raw TCP
 * socket (status and code), then an orderly close; timeouts cut stalled requests; an honest reader
 * and poster on the same relay are served throughout. Node's parser (llhttp) allows an answer for
 * every case below; the only ones that end in a reset are a client that keeps sending past
 * http.maxDiscardBytes after its answer, which is the bound working (asserted as such).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { MailboxReader, generateMailboxKeys, postEnvelope, type MailboxKeys } from '../../src/client/index.js';
import { encodeB64url } from '../../src/wire/envelope-protocol.js';
import { startTestRelay, tempDir, type TestRelay } from '../helpers/relay.js';
import { chunked, parseResponse, post, rawRequest } from '../helpers/raw-http.js';

const HTTP = { requestTimeoutMs: 2_000, headersTimeoutMs: 1_000, keepAliveTimeoutMs: 1_000, maxDiscardBytes: 256 * 1024 };
let relay: TestRelay;
let honest: MailboxKeys;
let honestReader: MailboxReader;
const honestGot: string[] = [];
let honestConnects = 0;
const somebox = `/v1/mailboxes/${encodeB64url(new Uint8Array(32).fill(3))}/envelopes`;

beforeAll(async () => {
  relay = await startTestRelay({ http: HTTP, envelope: { postBurst: 1000 }, media: { enabled: true } });
  honest = await generateMailboxKeys();
  honestReader = new MailboxReader({ relayUrl: relay.url, keys: honest, autoAck: true });
  honestReader.on('envelope', (e) => honestGot.push(e.id));
  honestReader.on('ready', () => honestConnects++);
  await honestReader.connect();
});
afterAll(async () => {
  honestReader.close();
  await relay.dispose();
});

async function honestStillServed(): Promise<void> {
  const before = honestGot.length;
  await postEnvelope(relay.url, honest.mailboxId, new Uint8Array(256));
  await expect.poll(() => honestGot.length).toBe(before + 1);
}

function expectAnswer(r: Awaited<ReturnType<typeof rawRequest>>, status: number, code: string): void {
  expect(r.status, r.text.slice(0, 200)).toBe(status);
  expect(r.json?.error?.code).toBe(code);
  expect(r.headers['content-type']).toBe('application/json');
}

describe('requests the parser refuses: 400 bad_request, then an orderly close', () => {
  const cases: Array<[string, string]> = [
    ['Content-Length: -1', post(somebox, 'content-length: -1\r\n')],
    ['Content-Length: abc', post(somebox, 'content-length: abc\r\n')],
    ['Content-Length: 1e20', post(somebox, 'content-length: 1e20\r\n')],
    ['Content-Length: 100000000000000000000 (overflows)', post(somebox, 'content-length: 100000000000000000000\r\n')],
    ['two different Content-Lengths', post(somebox, 'content-length: 256\r\ncontent-length: 257\r\n', 'x'.repeat(257))],
    ['Transfer-Encoding: chunked plus Content-Length', post(somebox, 'transfer-encoding: chunked\r\ncontent-length: 4\r\n', '4\r\nabcd\r\n0\r\n\r\n')],
    ['a garbage request line', 'HELLO THERE \x01\x02 NOT HTTP\r\n\r\n'],
    ['a header line without a colon', 'GET /healthz HTTP/1.1\r\nhost: x\r\nno colon here\r\n\r\n'],
  ];
  for (const [name, request] of cases) {
    it(name, async () => {
      const r = await rawRequest(relay.httpPort, request);
      expectAnswer(r, 400, 'bad_request');
      expect(r.headers.connection).toBe('close');
      expect(r.ended).toBe('fin');
    });
  }

  it('an HTTP/1.1 request without Host', async () => {
    const r = await rawRequest(relay.httpPort, 'GET /healthz HTTP/1.1\r\n\r\n');
    expectAnswer(r, 400, 'bad_request');
    expect(r.ended).toBe('fin');
    await honestStillServed();
  });
});

describe('sizes', () => {
  it('an 80 KiB header: 431 headers_too_large, read in full, then FIN (no reset)', async () => {
    const r = await rawRequest(relay.httpPort, `GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(80 * 1024)}\r\n\r\n`);
    expectAnswer(r, 431, 'headers_too_large');
    expect(r.ended).toBe('fin');
  });

  it('a chunked body over the largest bucket: 413 size_not_allowed, and the connection then serves the next request', async () => {
    const second = 'GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n';
    const r = await rawRequest(relay.httpPort, post(somebox, 'transfer-encoding: chunked\r\n', chunked(100 * 1024)) + second);
    expectAnswer(r, 413, 'size_not_allowed');
    const rest = r.text.slice(r.text.indexOf('HTTP/1.1 ', 1));
    expect(parseResponse(rest).status).toBe(200); // keep-alive survived: the rest of the body was drained
    expect(r.ended).toBe('fin');
  });

  it('a Content-Length body over the largest bucket, sent in full: 413 size_not_allowed', async () => {
    const r = await rawRequest(relay.httpPort, post(somebox, 'content-length: 70000\r\nconnection: close\r\n', 'y'.repeat(70_000)));
    expectAnswer(r, 413, 'size_not_allowed');
    expect(r.ended).toBe('fin');
  });

  it('a chunked media join body over media.joinMaxBodyBytes: 400 bad_join (its documented code), keep-alive kept', async () => {
    const second = 'GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n';
    const r = await rawRequest(relay.httpPort, post('/v1/media/join', 'content-type: application/json\r\ntransfer-encoding: chunked\r\n', chunked(64 * 1024)) + second);
    expectAnswer(r, 400, 'bad_join');
    expect(parseResponse(r.text.slice(r.text.indexOf('HTTP/1.1 ', 1))).status).toBe(200);
    expect(r.ended).toBe('fin');
  });

  it('a declared Content-Length above http.maxDiscardBytes: 413 at once with connection: close', async () => {
    const r = await rawRequest(relay.httpPort, post(somebox, 'content-length: 10000000\r\n'));
    expectAnswer(r, 413, 'size_not_allowed');
    expect(r.headers.connection).toBe('close');
    expect(r.ended).toBe('fin');
  });

  it('a chunked body that never ends: 413 first, then the connection is cut past http.maxDiscardBytes', async () => {
    const before = relay.metric('xrelay_http_body_discard_closes_total');
    const chunk = Buffer.from(`4000\r\n${'z'.repeat(0x4000)}\r\n`);
    const r = await rawRequest(relay.httpPort, post(somebox, 'transfer-encoding: chunked\r\n'), { stream: chunk, streamMaxBytes: 8 << 20 });
    expectAnswer(r, 413, 'size_not_allowed');
    expect(r.ended).not.toBe('open'); // cut by the relay, not by our 8 MiB limit or our timer
    expect(relay.metric('xrelay_http_body_discard_closes_total')).toBe(before + 1);
    await honestStillServed();
  });
});

describe('timeouts (http.requestTimeoutMs 2000, http.headersTimeoutMs 1000 in this test)', () => {
  const spread: string[] = [];
  afterAll(() => console.log(`measured answer times: ${spread.join('; ')}`));

  it('a body that stalls: 408 request_timeout after about requestTimeoutMs', async () => {
    const r = await rawRequest(relay.httpPort, post(somebox, 'content-length: 256\r\n', 'x'.repeat(100)));
    expectAnswer(r, 408, 'request_timeout');
    expect(r.ended).toBe('fin');
    spread.push(`stalled body ${r.answerMs.toFixed(0)} ms (timeout 2000)`);
    expect(r.answerMs).toBeGreaterThanOrEqual(HTTP.requestTimeoutMs - 50);
    expect(r.answerMs).toBeLessThan(HTTP.requestTimeoutMs + 4_000);
  });

  it('a body completed after its 408 is not processed: nothing is stored behind the refusal', async () => {
    const stored = relay.metric('xrelay_envelopes_stored_total');
    const r = await rawRequest(relay.httpPort, post(somebox, 'content-length: 256\r\n', 'x'.repeat(100)), { afterAnswer: 'x'.repeat(156) });
    expectAnswer(r, 408, 'request_timeout');
    expect(r.text.match(/HTTP\/1\.1 /g)).toHaveLength(1); // no second answer (a 202) after the 408
    await honestStillServed(); // stores one envelope: the honest one
    expect(relay.metric('xrelay_envelopes_stored_total')).toBe(stored + 1);
  });

  it('headers that stall: 408 request_timeout after about headersTimeoutMs', async () => {
    const r = await rawRequest(relay.httpPort, 'POST / HTTP/1.1\r\nhost: x\r\n');
    expectAnswer(r, 408, 'request_timeout');
    spread.push(`stalled headers ${r.answerMs.toFixed(0)} ms (timeout 1000)`);
    expect(r.answerMs).toBeGreaterThanOrEqual(HTTP.headersTimeoutMs - 50);
    expect(r.answerMs).toBeLessThan(HTTP.headersTimeoutMs + 4_000);
  });

  it('a connection that sends nothing: 408 after about headersTimeoutMs', async () => {
    const r = await rawRequest(relay.httpPort, '');
    expectAnswer(r, 408, 'request_timeout');
    spread.push(`silent connection ${r.answerMs.toFixed(0)} ms (timeout 1000)`);
    expect(r.answerMs).toBeGreaterThanOrEqual(HTTP.headersTimeoutMs - 50);
    expect(r.answerMs).toBeLessThan(HTTP.headersTimeoutMs + 4_000);
  });

  // Node 20 keeps the socket open about 1 s past the advertised `Keep-Alive: timeout`, so that the
  // client, not the server, closes first; the bound below allows for it.
  it('an idle keep-alive connection is closed after about keepAliveTimeoutMs', async () => {
    const started = performance.now();
    const r = await rawRequest(relay.httpPort, 'GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n');
    const closedMs = performance.now() - started;
    expect(r.status).toBe(200);
    expect(r.ended).toBe('fin');
    spread.push(`keep-alive idle close ${closedMs.toFixed(0)} ms (timeout 1000)`);
    expect(closedMs).toBeGreaterThanOrEqual(HTTP.keepAliveTimeoutMs - 50);
    expect(closedMs).toBeLessThan(HTTP.keepAliveTimeoutMs + 4_000);
  });

  it('the reader WebSocket opened before all this outlived every timeout, and posts still work', async () => {
    await honestStillServed();
    expect(honestConnects).toBe(1); // never reconnected: upgraded sockets leave the HTTP timeouts
    expect(relay.metric('xrelay_http_refused_total{code="request_timeout"}')).toBeGreaterThanOrEqual(3);
    expect(relay.metric('xrelay_http_refused_total{code="bad_request"}')).toBeGreaterThanOrEqual(8);
    expect(relay.metric('xrelay_http_refused_total{code="headers_too_large"}')).toBe(1);
  });
});

describe('connections per address (http.maxConnectionsPerAddress)', () => {
  it('past the cap a connection is closed at once; closing one admits the next', async () => {
    const capped = await startTestRelay({ http: { maxConnectionsPerAddress: 8 } });
    const open: net.Socket[] = [];
    try {
      for (let i = 0; i < 8; i++) {
        const s = net.connect(capped.httpPort, '127.0.0.1');
        await new Promise((r) => s.once('connect', r));
        open.push(s);
      }
      const refused = await rawRequest(capped.httpPort, 'GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n', { waitMs: 3_000 });
      expect(refused.status).toBe(0);
      expect(refused.ended).not.toBe('open');
      expect(capped.metric('xrelay_http_refused_total{code="too_many_connections"}')).toBe(1);
      const closed = open.pop()!;
      closed.destroy();
      await new Promise((r) => setTimeout(r, 100));
      const admitted = await rawRequest(capped.httpPort, 'GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
      expect(admitted.status).toBe(200);
    } finally {
      for (const s of open) s.destroy();
      await capped.dispose();
    }
  });
});

describe('over TLS (the relay serving HTTPS itself)', () => {
  it('a TCP connection that never starts the handshake is closed after about headersTimeoutMs; malformed and stalled requests get their answers over TLS', async () => {
    const dir = tempDir('xrelay-tls-');
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    const secure = await startTestRelay({ tlsCert: cert, tlsKey: key, http: { headersTimeoutMs: 1_000, requestTimeoutMs: 2_000 } });
    const ca = readFileSync(cert);
    try {
      const silent = await rawRequest(secure.httpPort, '', { waitMs: 8_000 });
      expect(silent.ended).not.toBe('open'); // TLS handshakeTimeout = headersTimeoutMs (Node's default is 120 s)
      console.log(`TLS: connection without a handshake closed after ${silent.answerMs.toFixed(0)} ms (timeout 1000)`);
      expect(silent.answerMs).toBeGreaterThanOrEqual(950);
      // Under the 2 s lingering close: a failed handshake is destroyed, never answered as HTTP.
      expect(silent.answerMs).toBeLessThan(2_900);

      const garbage = await rawRequest(secure.httpPort, 'HELLO THERE\r\n\r\n', { tlsCa: ca });
      expectAnswer(garbage, 400, 'bad_request');
      const big = await rawRequest(secure.httpPort, `GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(80 * 1024)}\r\n\r\n`, { tlsCa: ca });
      expectAnswer(big, 431, 'headers_too_large');
      const stalled = await rawRequest(secure.httpPort, post(somebox, 'content-length: 256\r\n', 'x'.repeat(10)), { tlsCa: ca });
      expectAnswer(stalled, 408, 'request_timeout');
      const ok = await rawRequest(secure.httpPort, 'GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n', { tlsCa: ca });
      expect(ok.status).toBe(200);
    } finally {
      await secure.dispose();
    }
  });
});
