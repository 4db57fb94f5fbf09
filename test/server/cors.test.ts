/**
 * Browser access rules on real sockets: CORS for configured origins only, preflights, the Origin
 * check on POSTs and WebSocket upgrades, the JSON-only join, Allow on 405, config validation.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { startRelay } from '../../src/relay.js';
import { encodeB64url } from '../../src/wire/envelope-protocol.js';
import { randomBytes, startTestRelay, type TestRelay } from '../helpers/relay.js';

const APP = 'http://app.example:8080';
const EVIL = 'http://evil.example';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

function raw(base: string, method: string, path: string, headers: Record<string, string> = {}, body?: Uint8Array | string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(base + path, { method, headers }, (res) => {
      let text = '';
      res.on('data', (d) => (text += String(d)));
      res.on('end', () => {
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          /* empty or not JSON */
        }
        resolve({ status: res.statusCode!, headers: res.headers, body: parsed });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Opens a WebSocket (optionally with an Origin); resolves 'open' or the HTTP status that refused it. */
function upgrade(url: string, origin?: string): Promise<number | 'open'> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, origin === undefined ? {} : { origin });
    ws.on('open', () => {
      ws.terminate();
      resolve('open');
    });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.on('error', () => undefined);
  });
}

const joinBody = (): string => JSON.stringify({ room: encodeB64url(randomBytes(32)), publicKey: encodeB64url(new Uint8Array(32).fill(9)), profile: 'audio' });
const mailboxPath = (): string => `/v1/mailboxes/${encodeB64url(randomBytes(32))}/envelopes`;

describe('browser access', () => {
  let relay: TestRelay;
  let plain: TestRelay;
  beforeAll(async () => {
    relay = await startTestRelay({ corsOrigins: [APP], media: { enabled: true } }, { logLevel: 'silent' });
    plain = await startTestRelay({ media: { enabled: true } }, { logLevel: 'silent' });
  });
  afterAll(async () => {
    await relay?.dispose();
    await plain?.dispose();
  });

  it('preflight from an allowed origin: 204, methods, content-type, Vary: Origin; others get no CORS headers', async () => {
    const ok = await raw(relay.url, 'OPTIONS', '/v1/media/join', { origin: APP, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' });
    expect(ok.status).toBe(204);
    expect(ok.headers['access-control-allow-origin']).toBe(APP);
    expect(ok.headers['access-control-allow-methods']).toBe('POST, OPTIONS');
    expect(ok.headers['access-control-allow-headers']).toBe('content-type');
    expect(ok.headers.vary).toBe('Origin');
    expect(ok.headers.allow).toBe('POST, OPTIONS');
    for (const r of [relay, plain]) {
      const other = await raw(r.url, 'OPTIONS', '/v1/media/join', { origin: EVIL, 'access-control-request-method': 'POST' });
      expect(other.status).toBe(204);
      expect(Object.keys(other.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
    }
    expect((await raw(relay.url, 'OPTIONS', '/nope', { origin: APP })).body.error.code).toBe('not_found');
  });

  it('join: JSON only (415 unsupported_media_type), allowed origin gets CORS headers, a foreign origin 403 forbidden', async () => {
    const text = await raw(relay.url, 'POST', '/v1/media/join', { 'content-type': 'text/plain' }, joinBody());
    expect(text.status).toBe(415);
    expect(text.body.error.code).toBe('unsupported_media_type');
    expect((await raw(plain.url, 'POST', '/v1/media/join', {}, joinBody())).body.error.code).toBe('unsupported_media_type'); // no type at all (a Blob body)
    const form = await raw(relay.url, 'POST', '/v1/media/join', { origin: APP, 'content-type': 'application/x-www-form-urlencoded' }, joinBody());
    expect(form.body.error.code).toBe('unsupported_media_type');
    const ok = await raw(relay.url, 'POST', '/v1/media/join', { origin: APP, 'content-type': 'application/json; charset=utf-8' }, joinBody());
    expect(ok.status).toBe(200);
    expect(ok.headers['access-control-allow-origin']).toBe(APP);
    expect(ok.headers.vary).toBe('Origin');
    const evil = await raw(relay.url, 'POST', '/v1/media/join', { origin: EVIL, 'content-type': 'application/json' }, joinBody());
    expect(evil.status).toBe(403);
    expect(evil.body.error.code).toBe('forbidden');
    expect(evil.headers['access-control-allow-origin']).toBeUndefined();
    const evilPlain = await raw(plain.url, 'POST', '/v1/media/join', { origin: EVIL, 'content-type': 'text/plain' }, joinBody());
    expect(evilPlain.body.error.code).toBe('forbidden'); // refused before any session exists
    // DNS rebinding: a page at evil.example rebinds its name to the relay, so its Origin's host equals the
    // Host header. There is no same-origin exception to pass: refused like any other unlisted origin.
    const port = new URL(plain.url).port;
    const rebound = await raw(plain.url, 'POST', '/v1/media/join', { origin: `http://evil.example:${port}`, host: `evil.example:${port}`, 'content-type': 'application/json' }, joinBody());
    expect(rebound.status).toBe(403);
    const own = await raw(plain.url, 'POST', '/v1/media/join', { origin: plain.url, 'content-type': 'application/json' }, joinBody());
    expect(own.status).toBe(403); // the relay serves no page: its own origin is not listed either
    const noOrigin = await raw(plain.url, 'POST', '/v1/media/join', { 'content-type': 'application/json' }, joinBody());
    expect(noOrigin.status).toBe(200); // apps and the Node SDK send no Origin
    expect(plain.metric('xrelay_media_joins_total{result="ok"}')).toBe(1);
  });

  it('envelope posts: a foreign origin is refused even with a simple request; no Origin and allowed origins pass', async () => {
    const body = randomBytes(256);
    const evil = await raw(relay.url, 'POST', mailboxPath(), { origin: EVIL, 'content-type': 'text/plain' }, body);
    expect(evil.status).toBe(403);
    expect(evil.body.error.code).toBe('forbidden');
    const ok = await raw(relay.url, 'POST', mailboxPath(), { origin: APP, 'content-type': 'application/octet-stream' }, body);
    expect(ok.status).toBe(202);
    expect(ok.headers['access-control-allow-origin']).toBe(APP);
    expect(ok.headers['access-control-expose-headers']).toBe('Retry-After, Location'); // Location: the WebRTC edge's session URL
    expect((await raw(relay.url, 'POST', mailboxPath(), {}, body)).status).toBe(202);
    const health = await raw(relay.url, 'GET', '/healthz', { origin: EVIL });
    expect(health.status).toBe(200); // reads are not refused; the browser withholds the answer (no CORS header)
    expect(health.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('WebSocket upgrades: 403 for a foreign or rebound Origin on every route, open for allowed and absent Origins', async () => {
    const ws = relay.url.replace(/^http/, 'ws');
    for (const path of ['/v1/mailbox', '/v1/post', '/v1/media/cells']) {
      expect(await upgrade(ws + path, EVIL)).toBe(403);
      expect(await upgrade(ws + path, APP)).toBe('open');
      expect(await upgrade(ws + path)).toBe('open');
      expect(await upgrade(ws + path, relay.url)).toBe(403); // no same-origin exception (DNS rebinding)
    }
    expect(await upgrade(plain.url.replace(/^http/, 'ws') + '/v1/mailbox', APP)).toBe(403); // empty list: no foreign origin
  });

  it('405 carries Allow', async () => {
    const r = await raw(plain.url, 'GET', '/v1/media/join');
    expect(r.status).toBe(405);
    expect(r.body.error.code).toBe('method_not_allowed');
    expect(r.headers.allow).toBe('POST');
  });

  it('corsOrigins entries must be origins: the relay refuses to start naming the field', async () => {
    for (const bad of ['https://app.example/', 'app.example', 'https://app.example/path', 'ftp://x.example', '*']) {
      const config = loadConfig({ file: { host: '127.0.0.1', httpPort: 0, dataDir: '/nonexistent', corsOrigins: [bad], media: { enabled: false }, turn: { enabled: false } } });
      const err = await startRelay(config).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).field).toBe('corsOrigins');
    }
  });
});
