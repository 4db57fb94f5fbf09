/**
 * The SDK's rough edges a new user hit (issue 11), through a real relay on loopback:
 * synchronous crypto before `await ready()`, one error type with stable codes (network, bad_secret,
 * the relay's own codes), relay URLs with a path prefix (behind a proxy), and `transport: 'auto'`
 * where UDP cannot even open: the WebSocket is tried, and no slot is left behind.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { createServer, request, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallClient, MailboxReader, PostSocket, XrelayClientError, generateMailboxKeys, openEnvelope, postEnvelope, ready, sealEnvelope, type ReceivedEnvelope } from '../../src/client/node.js';
import { installRuntime } from '../../src/client/runtime.js';
import { nodeRuntime } from '../../src/client/runtime-node.js';
import { relayHttpUrl, relayWsUrl } from '../../src/client/relay-url.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';

const codeOf = (p: Promise<unknown> | (() => unknown)): Promise<string> =>
  (typeof p === 'function' ? new Promise((r) => r(p())) : p).then(
    () => 'ok',
    (e: unknown) => (e instanceof XrelayClientError ? e.code : `not an XrelayClientError: ${String(e)}`),
  );

/** A reverse proxy serving the relay under /prefix/ (HTTP and WebSocket upgrades); counts what it forwarded. */
async function prefixProxy(target: string, prefix: string): Promise<{ url: string; seen: string[]; server: Server }> {
  const t = new URL(target);
  const seen: string[] = [];
  const strip = (path: string): string | undefined => (path.startsWith(prefix) ? path.slice(prefix.length - 1) : undefined);
  const server = createServer((req, res) => {
    const path = strip(req.url ?? '');
    seen.push(req.url ?? '');
    if (path === undefined) return void res.writeHead(404).end();
    const up = request({ host: t.hostname, port: t.port, path, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    req.pipe(up);
  });
  server.on('upgrade', (req, socket, head) => {
    const path = strip(req.url ?? '');
    seen.push(req.url ?? '');
    if (path === undefined) return void socket.destroy();
    const up = connect(Number(t.port), t.hostname, () => {
      const lines = [`${req.method} ${path} HTTP/1.1`, ...Object.entries(req.headers).map(([k, v]) => `${k}: ${String(v)}`), '', ''];
      up.write(lines.join('\r\n'));
      up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    up.on('error', () => socket.destroy());
    socket.on('error', () => up.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${prefix}`, seen, server };
}

describe('SDK rough edges', () => {
  let relay: TestRelay;
  beforeAll(async () => {
    relay = await startTestRelay({ media: { enabled: true } }, { logLevel: 'silent' });
  });
  afterAll(async () => {
    installRuntime(nodeRuntime);
    await relay?.dispose();
  });

  it('synchronous crypto before `await ready()` throws not_ready (a fresh process, the built SDK), then works', async () => {
    // In this worker libsodium finished loading long ago; a fresh Node process shows the first moments.
    const script = `const m = await import(${JSON.stringify(resolve(__dirname, '../../dist/src/client/node.js'))});
      const codes = [];
      for (const f of [() => m.sealEnvelope(new Uint8Array(32), { kind: 'x', body: new Uint8Array(1) }), () => m.mailboxIdOf(new Uint8Array(32)), () => new m.CallKeys(new Uint8Array(32))]) {
        try { f(); codes.push('ok'); } catch (e) { codes.push(e instanceof m.XrelayClientError ? e.code : String(e)); }
      }
      await m.ready();
      codes.push(m.mailboxIdOf(new Uint8Array(32)).length);
      console.log(JSON.stringify(codes));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(JSON.parse(out)).toEqual(['not_ready', 'not_ready', 'not_ready', 32]);
    await ready();
    const keys = await generateMailboxKeys();
    const sealed = sealEnvelope(keys.publicKey, { kind: 'chat', body: new Uint8Array([1, 2, 3]) });
    expect(openEnvelope(keys, sealed).body).toEqual(new Uint8Array([1, 2, 3]));
    expect(await codeOf(() => openEnvelope(keys, sealed.slice(1)))).toBe('cannot_open');
    expect(await codeOf(() => sealEnvelope(keys.publicKey, { kind: 'chat', body: new Uint8Array(70_000) }))).toBe('too_large');
  });

  it('refuses empty and short call secrets with bad_secret, before any request', async () => {
    const joins = relay.metric('xrelay_media_joins_total{result="ok"}');
    expect(await codeOf(CallClient.join({ relay: relay.url, callSecret: new Uint8Array(0) }))).toBe('bad_secret');
    expect(await codeOf(CallClient.join({ relay: relay.url, callSecret: randomBytes(15) }))).toBe('bad_secret');
    expect(relay.metric('xrelay_media_joins_total{result="ok"}')).toBe(joins);
  });

  it('a stopped relay is `network`, for joins, posts, post sockets and readers', async () => {
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(dead.address() as AddressInfo).port}`;
    await new Promise<void>((r) => dead.close(() => r()));
    expect(await codeOf(CallClient.join({ relay: url, callSecret: randomBytes(32), transport: 'ws' }))).toBe('network');
    expect(await codeOf(postEnvelope(url, randomBytes(32), randomBytes(256)))).toBe('network');
    expect(await codeOf(PostSocket.open(url))).toBe('network');
    const keys = await generateMailboxKeys();
    const reader = new MailboxReader({ relayUrl: url, keys, reconnectMinMs: 60_000 });
    const problem = new Promise<string>((r) => reader.once('problem', (p) => r(p.code)));
    void reader.connect().catch(() => undefined);
    expect(await problem).toBe('network');
    reader.close();
  });

  it("relay refusals keep the relay's codes (and HTTP status)", async () => {
    const err = await CallClient.join({ relay: relay.url, callSecret: randomBytes(32), profile: 'nope' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(XrelayClientError);
    expect((err as XrelayClientError).code).toBe('unknown_profile');
    expect((err as XrelayClientError).status).toBe(400);
    expect(await codeOf(postEnvelope(relay.url, randomBytes(32), new Uint8Array(100)))).toBe('size_not_allowed');
  });

  it('keeps the path prefix of the relay URL for joins, cells, posts and readers', async () => {
    expect(relayHttpUrl('https://h.example/xr', 'v1/media/join')).toBe('https://h.example/xr/v1/media/join');
    expect(relayHttpUrl('https://h.example/xr/', '/v1/media/join')).toBe('https://h.example/xr/v1/media/join');
    expect(relayWsUrl('https://h.example/xr/?a=1', '/v1/media/cells')).toBe('wss://h.example/xr/v1/media/cells');
    const proxy = await prefixProxy(relay.url, '/xr/');
    try {
      const keys = await generateMailboxKeys();
      const got: ReceivedEnvelope[] = [];
      const reader = new MailboxReader({ relayUrl: proxy.url, keys, autoAck: true });
      reader.on('envelope', (e) => got.push(e));
      await reader.connect();
      await postEnvelope(proxy.url, keys.mailboxId, sealEnvelope(keys.publicKey, { kind: 'chat', body: new Uint8Array([7]) }));
      const sock = await PostSocket.open(proxy.url.replace(/\/$/, '')); // with or without the trailing slash
      await sock.post(keys.mailboxId, sealEnvelope(keys.publicKey, { kind: 'chat', body: new Uint8Array([8]) }));
      sock.close();
      for (let i = 0; i < 200 && got.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
      expect(got.map((e) => openEnvelope(keys, e.body).body[0]).sort()).toEqual([7, 8]);
      reader.close();
      const secret = randomBytes(32);
      const a = await CallClient.join({ relay: proxy.url, callSecret: secret, transport: 'ws' });
      const b = await CallClient.join({ relay: proxy.url, callSecret: secret, transport: 'ws' });
      const heard = new Promise<number>((r) => b.on('frame', (f) => r(f.data[0]!)));
      for (let i = 0; i < 5; i++) a.send(new Uint8Array([42]));
      expect(await heard).toBe(42);
      await a.leave();
      await b.leave();
      expect(proxy.seen).toEqual(expect.arrayContaining(['/xr/v1/mailbox', '/xr/v1/post', '/xr/v1/media/join', '/xr/v1/media/cells']));
      expect(proxy.seen.filter((p) => !p.startsWith('/xr/'))).toEqual([]);
    } finally {
      proxy.server.closeAllConnections();
      proxy.server.close();
    }
  });

  it("'auto' where UDP cannot open (e.g. a sandbox denies it): the WebSocket; a failed join leaves no slot behind", async () => {
    const before = relay.metric('xrelay_media_sessions'); // earlier tests left in band: nothing times out meanwhile
    const joinsBefore = relay.metric('xrelay_media_joins_total{result="ok"}');
    installRuntime({ ...nodeRuntime, openUdp: () => Promise.reject(new Error('EPERM: UDP denied')) });
    try {
      const secret = randomBytes(32);
      const a = await CallClient.join({ relay: relay.url, callSecret: secret }); // default 'auto'
      expect(a.transportKind).toBe('ws');
      expect(await codeOf(CallClient.join({ relay: relay.url, callSecret: secret, transport: 'udp' }))).toBe('network');
      const b = await CallClient.join({ relay: relay.url, callSecret: secret, transport: 'ws' });
      const heard = new Promise<number>((r) => b.on('frame', (f) => r(f.data[0]!)));
      for (let i = 0; i < 5; i++) a.send(new Uint8Array([9]));
      expect(await heard).toBe(9);
      await a.leave();
      await b.leave();
    } finally {
      installRuntime(nodeRuntime);
    }
    expect(relay.metric('xrelay_media_joins_total{result="ok"}')).toBe(joinsBefore + 3); // 'auto' joined once, not twice
    for (let i = 0; i < 100 && relay.metric('xrelay_media_sessions') > before; i++) await new Promise((r) => setTimeout(r, 20));
    // a and b left in band; the forced-'udp' join that failed said so over a WebSocket opened for that
    expect(relay.metric('xrelay_media_sessions')).toBe(before);
  });
});
