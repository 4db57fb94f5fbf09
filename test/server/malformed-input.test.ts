/**
 * Issue 9, must-show 1: one relay process (a child, so a crash is seen rather than taking the test runner
 * down) gets every malformed WebSocket frame we know of on every WebSocket route, random bytes after a valid
 * handshake, malformed HTTP requests, garbage on TURN TCP and TLS and random datagrams on the UDP ports.
 * Then an honest client of every plane is still served by the same process.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailboxReader, PostSocket, generateMailboxKeys, postEnvelope, sealEnvelope, type ReceivedEnvelope } from '../../src/client/index.js';
import { Method, StunClass } from '../../src/turn/codec/index.js';
import { CLI } from '../helpers/child-relay.js';
import { tempDir } from '../helpers/relay.js';
import { joinAll, leaveAll, talk, expectAllDelivered } from '../media/call-helpers.js';
import { allocateRelay, parse, request } from '../turn/helpers/stun-client.js';
import { tcpClient, udpClient } from '../turn/helpers/wire.js';

const fixture = (name: string): string => resolve(__dirname, '../turn/fixtures', name);
const WS_ROUTES = ['/v1/post', '/v1/mailbox', '/v1/media/cells'];

interface Ports { http: number; mediaUdp: number; turnUdp: number; turnTcp: number; turnTls: number }
let proc: ChildProcess;
let out = '';
let ports: Ports;
let dataDir: string;
let exitCode: number | null | undefined;

/** A masked client frame (RFC 6455 §5.2): fin + opcode byte, then the payload under a random mask. */
function frame(first: number, payload: Buffer, lengthOverride?: Buffer): Buffer {
  const mask = randomBytes(4);
  const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
  const len = lengthOverride ?? (payload.length < 126 ? Buffer.from([0x80 | payload.length]) : Buffer.from([0x80 | 126, payload.length >> 8, payload.length & 0xff]));
  return Buffer.concat([Buffer.from([first]), len, mask, masked]);
}

/** Each protocol violation of issue 9 item 1, and random bytes. */
const BAD_FRAMES: Array<[string, () => Buffer]> = [
  ['unmasked frame', () => Buffer.from('820568656c6c6f', 'hex')],
  ['frame over maxPayload', () => frame(0x82, Buffer.alloc(16), Buffer.from([0x80 | 127, 0, 0, 0, 0, 0x10, 0, 0, 0]))],
  ['2^62 length header', () => frame(0x82, Buffer.alloc(0), Buffer.from([0x80 | 127, 0x40, 0, 0, 0, 0, 0, 0, 0]))],
  ['reserved opcode 3', () => frame(0x83, Buffer.from('hi'))],
  ['invalid UTF-8 in a text frame', () => frame(0x81, Buffer.from([0xff, 0xfe, 0xfd]))],
  ['RSV1 set without an extension', () => frame(0xc2, Buffer.from('hi'))],
  ['close code 999', () => frame(0x88, Buffer.from([0x03, 0xe7]))],
  ['random bytes', () => randomBytes(512)],
];

/** Upgrades a raw TCP socket to a WebSocket by hand, so any bytes can follow the handshake. */
async function rawUpgrade(path: string): Promise<Socket> {
  alive();
  const s = await connected(ports.http);
  s.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  const head = await new Promise<string>((r) => {
    let text = '';
    const onData = (d: Buffer): void => {
      text += d.toString('latin1');
      if (text.includes('\r\n\r\n')) {
        s.off('data', onData);
        r(text);
      }
    };
    s.on('data', onData);
    s.once('close', () => r(text));
  });
  expect(head.startsWith('HTTP/1.1 101'), `${path}: ${head.slice(0, 40)}`).toBe(true);
  return s;
}

/** Writes bytes and waits for the relay to close the socket (or a bound, after which we close it). */
async function sendAndWaitClose(s: Socket, bytes: Buffer, boundMs = 3000): Promise<boolean> {
  const closed = new Promise<boolean>((r) => {
    if (s.destroyed) return r(true);
    s.once('close', () => r(true));
  });
  s.write(bytes);
  const byRelay = await Promise.race([closed, new Promise<boolean>((r) => setTimeout(() => r(false), boundMs))]);
  s.destroy();
  return byRelay;
}

/** A TCP connection to the relay; fails at once (not after the test timeout) when nothing listens. */
async function connected(port: number): Promise<Socket> {
  const s = netConnect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    s.once('connect', () => resolve());
    s.once('error', reject);
  });
  s.on('error', () => undefined);
  return s;
}

async function rawHttp(port: number, text: string | Buffer): Promise<string> {
  alive();
  const s = await connected(port);
  let got = '';
  s.on('data', (d) => (got += d.toString('latin1')));
  s.write(text);
  await Promise.race([new Promise((r) => s.once('close', r)), new Promise((r) => setTimeout(r, 2000))]);
  s.destroy();
  return got;
}

function alive(): void {
  expect(exitCode, `relay exited:\n${out.slice(-3000)}`).toBeUndefined();
}

beforeAll(async () => {
  dataDir = tempDir('xrelay-malformed-');
  const cfgFile = join(dataDir, 'config.json');
  writeFileSync(cfgFile, JSON.stringify({
    host: '127.0.0.1', httpPort: 0, dataDir: join(dataDir, 'store'), logLevel: 'info',
    media: { enabled: true, udpPort: 0 },
    rtc: { port: 0 },
    turn: {
      enabled: true, port: 0, tls: true, tlsPort: 0, tlsCert: fixture('turn-test-cert.pem'), tlsKey: fixture('turn-test-key.pem'),
      staticUsers: ['honest:secret'], relayPortMin: 0, relayPortMax: 0, peerAllowList: ['127.0.0.0/8'],
    },
  }));
  proc = spawn(process.execPath, [CLI, 'serve', '--config', cfgFile], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, XRELAY_LOG_FORMAT: 'json' } });
  proc.stdout!.on('data', (d) => (out += String(d)));
  proc.stderr!.on('data', (d) => (out += String(d)));
  proc.on('exit', (code, signal) => (exitCode = code ?? (signal ? -1 : null)));
  const deadline = Date.now() + 20_000;
  for (;;) {
    const relayLine = /\{[^\n]*"msg":"relay listening"[^\n]*\}/.exec(out)?.[0];
    const turnLine = /\{[^\n]*"msg":"turn plane listening[^\n]*\}/.exec(out)?.[0];
    if (relayLine !== undefined && turnLine !== undefined) {
      const r = JSON.parse(relayLine) as { httpPort: number; media: number };
      const t = JSON.parse(turnLine) as { udpPort: number; tcpPort: number; tlsPort: number };
      ports = { http: r.httpPort, mediaUdp: r.media, turnUdp: t.udpPort, turnTcp: t.tcpPort, turnTls: t.tlsPort };
      break;
    }
    if (exitCode !== undefined || Date.now() > deadline) throw new Error(`relay did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}, 30_000);

afterAll(async () => {
  if (exitCode === undefined) {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
  }
  rmSync(dataDir, { recursive: true, force: true });
});

describe('malformed input on every socket leaves one relay process serving every plane', () => {
  it.each(WS_ROUTES)('WebSocket %s: each protocol violation closes only that socket', async (path) => {
    const closedBy: string[] = [];
    for (const [name, bytes] of BAD_FRAMES) {
      const s = await rawUpgrade(path);
      if (await sendAndWaitClose(s, bytes())) closedBy.push(name);
      alive();
    }
    console.log(`${path}: relay closed the socket itself after ${closedBy.length}/${BAD_FRAMES.length} violations`);
    // Every violation except plain random bytes is one ws must refuse at once; random bytes start with a
    // random header that may claim a long frame, so the relay may rightly wait for the rest.
    expect(closedBy.filter((n) => n !== 'random bytes')).toEqual(BAD_FRAMES.map(([n]) => n).filter((n) => n !== 'random bytes'));
  });

  it('upgrades the relay refuses (unknown path, a foreign Origin, a non-WebSocket Upgrade) from clients that reset at once', async () => {
    const upgrades = [
      `GET /nope HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      `GET /v1/mailbox HTTP/1.1\r\nHost: x\r\nOrigin: https://evil.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n',
    ];
    for (let round = 0; round < 20; round++) {
      for (const text of upgrades) {
        const s = await connected(ports.http);
        s.write(text);
        s.resetAndDestroy(); // an RST before the relay's answer: its write then fails
      }
      await new Promise((r) => setTimeout(r, 10));
      alive();
    }
  });

  it('malformed HTTP requests, and an upgrade to an unknown path', async () => {
    const requests = [
      'POST /v1/post/AAAA HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
      'POST /v1/post/AAAA HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n',
      'POST /v1/post/AAAA HTTP/1.1\r\nHost: x\r\nContent-Length: 1e20\r\n\r\n',
      'POST /v1/post/AAAA HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd',
      'POST /v1/post/AAAA HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
      '\x16\x03\x01garbage request line\r\n\r\n',
      `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(80 * 1024)}\r\n\r\n`,
      'GET /nowhere HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      'GET /v1/mailbox HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 99\r\n\r\n',
    ];
    for (const r of requests) {
      await rawHttp(ports.http, r);
      alive();
    }
    await rawHttp(ports.http, randomBytes(4096));
    alive();
  });

  it('garbage on TURN TCP and TLS, random datagrams on the TURN and media UDP ports', async () => {
    const garbage = [
      randomBytes(300),
      Buffer.from([0x40, 0x00, 0xff, 0xff, 1, 2, 3]), // ChannelData claiming 64 KiB, then silence
      Buffer.concat([Buffer.from([0x00, 0x01, 0xff, 0xf0]), Buffer.from('2112a442', 'hex'), randomBytes(40)]), // STUN header, absurd length
    ];
    for (const g of garbage) {
      const s = await connected(ports.turnTcp);
      await sendAndWaitClose(s, g, 300);
      alive();
    }
    // Non-TLS bytes on the TLS port, and garbage inside a completed TLS session.
    const plain = await connected(ports.turnTls);
    await sendAndWaitClose(plain, randomBytes(600), 1000);
    const t = tlsConnect({ port: ports.turnTls, host: '127.0.0.1', ca: readFileSync(fixture('turn-test-cert.pem')), servername: 'localhost', rejectUnauthorized: false });
    t.on('error', () => undefined);
    await new Promise<void>((r) => t.once('secureConnect', () => r()));
    t.write(randomBytes(700));
    await new Promise((r) => setTimeout(r, 300));
    t.destroy();
    alive();

    const udp = createSocket('udp4');
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
    for (let i = 0; i < 2000; i++) {
      udp.send(randomBytes(1 + (i % 1200)), ports.mediaUdp, '127.0.0.1');
      udp.send(randomBytes(1 + (i % 1200)), ports.turnUdp, '127.0.0.1');
      if (i % 100 === 0) await new Promise((r) => setImmediate(r));
    }
    await new Promise((r) => setTimeout(r, 200));
    udp.close();
    alive();
  });

  it('afterwards an honest client of every plane is served by the same process', async () => {
    alive();
    const health = await fetch(`http://127.0.0.1:${ports.http}/healthz`);
    expect(health.status).toBe(200);
    const url = `http://127.0.0.1:${ports.http}`;

    // Envelope plane: post over HTTP and over the /v1/post socket, read and ack both.
    const bob = await generateMailboxKeys();
    const viaHttp = await postEnvelope(url, bob.mailboxId, sealEnvelope(bob.publicKey, { kind: 'chat', body: new Uint8Array([1]) }));
    const poster = await PostSocket.open(url);
    const viaSocket = await poster.post(bob.mailboxId, sealEnvelope(bob.publicKey, { kind: 'chat', body: new Uint8Array([2]) }));
    poster.close();
    const reader = new MailboxReader({ relayUrl: url, keys: bob });
    const seen: ReceivedEnvelope[] = [];
    reader.on('envelope', (e) => seen.push(e));
    await reader.connect();
    await expect.poll(() => seen.length, { timeout: 5000 }).toBe(2);
    expect(seen.map((e) => e.id).sort()).toEqual([viaHttp.id, viaSocket].sort());
    reader.ack(seen.map((e) => e.id));
    reader.close();

    // Media plane: a room over UDP cells and one over the WebSocket cell path.
    for (const transport of ['udp', 'ws'] as const) {
      const parties = await joinAll(2, { relay: url, transport, profile: 'audio' });
      await talk(parties, 20, 20);
      expect(expectAllDelivered(parties, 20), transport).toEqual([]);
      await leaveAll(parties);
    }

    // TURN plane: an allocation over UDP, TCP and TLS.
    const clients = [await udpClient(ports.turnUdp), await tcpClient(ports.turnTcp), await tcpClient(ports.turnTls, { ca: readFileSync(fixture('turn-test-cert.pem')) })];
    for (const c of clients) {
      const { relayPort } = await allocateRelay(c, 'honest', 'secret');
      expect(relayPort).toBeGreaterThan(0);
      const binding = parse(await c.call(request(Method.binding)));
      expect(binding.cls).toBe(StunClass.success);
      await c.close();
    }
    alive();
  });
});
