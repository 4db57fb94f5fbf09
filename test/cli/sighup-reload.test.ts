/**
 * SIGHUP on a running TLS relay (the real CLI): a new certificate on disk reaches new TLS
 * handshakes (HTTPS/WSS and TURN over TLS) while a WSS mailbox reader and a UDP call that were live
 * before it carry on; an unusable certificate keeps the old one; the log level follows the file.
 */
import { execFileSync, spawn } from 'node:child_process';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { Agent, getGlobalDispatcher, setGlobalDispatcher } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { MailboxReader, generateMailboxKeys, openEnvelope, sealEnvelope } from '../../src/client/index.js';
import { encodeB64url } from '../../src/wire/envelope-protocol.js';
import { expectAllDelivered, joinAll, leaveAll, talk } from '../media/call-helpers.js';
import { CLI } from '../helpers/child-relay.js';
import { tempDir } from '../helpers/relay.js';

const dir = tempDir('xrelay-hup-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const certFile = join(dir, 'cert.pem');
const keyFile = join(dir, 'key.pem');

/** A fresh self-signed pair, moved into place the way an operator's renewal would (rename). */
function newCertificate(cn: string): Buffer {
  const tmpCert = join(dir, `${cn}.cert.pem`);
  const tmpKey = join(dir, `${cn}.key.pem`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', tmpKey, '-out', tmpCert, '-days', '1', '-subj', `/CN=${cn}`, '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  const pem = readFileSync(tmpCert);
  renameSync(tmpKey, keyFile);
  renameSync(tmpCert, certFile);
  return pem;
}

/** The SHA-256 fingerprint of the certificate a new TLS connection to port is shown. */
function fingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      resolve(s.getPeerCertificate().fingerprint256);
      s.end();
    });
    s.on('error', reject);
  });
}

function httpsPost(url: string, body: Uint8Array, ca: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', ca }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    req.end(body);
  });
}

interface Line {
  msg: string;
  level: number;
  [k: string]: unknown;
}

describe('SIGHUP', () => {
  it('reloads the certificates without dropping a live WSS reader or a live call; a bad certificate keeps the old one', async () => {
    const pemA = newCertificate('relay-a');
    const configFile = join(dir, 'relay.json');
    const writeConfig = (logLevel: string): void => writeFileSync(configFile, JSON.stringify({ tlsCert: certFile, tlsKey: keyFile, logLevel, turn: { tls: true } }));
    writeConfig('info');
    const proc = spawn(
      process.execPath,
      [CLI, 'serve', '--config', configFile, '--data-dir', join(dir, 'data'), '--http-port', '0', '--rtc-port', '0', '--media-udp-port', '0', '--turn-port', '0', '--turn-tls-port', '0', '--turn-relay-port-min', '0', '--turn-relay-port-max', '0'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    proc.stdout.on('data', (d) => (out += String(d)));
    proc.stderr.on('data', (d) => (out += String(d)));
    const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
    const lines = (): Line[] => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Line);
    const line = (msg: string): Line | undefined => lines().find((l) => l.msg === msg);
    const dispatcher = getGlobalDispatcher();
    const parties: Awaited<ReturnType<typeof joinAll>> = [];
    const reader = { current: undefined as MailboxReader | undefined };
    try {
      await expect.poll(() => line('relay listening'), { timeout: 15_000, interval: 50 }).toBeDefined();
      const { httpPort, tls } = line('relay listening')!;
      expect(tls).toBe(true);
      const turnTlsPort = lines().find((l) => l.plane === 'turn' && typeof l.tlsPort === 'number')!.tlsPort as number;
      const url = `https://127.0.0.1:${httpPort as number}`;
      const fpA = await fingerprint(httpPort as number);
      expect(await fingerprint(turnTlsPort)).toBe(fpA);

      // Live before the reload: a mailbox reader over WSS, and a call (joined over HTTPS, cells over UDP).
      const keys = await generateMailboxKeys();
      const r = new MailboxReader({ relayUrl: url, keys, wsOptions: { ca: pemA }, autoAck: true });
      reader.current = r;
      const closes: unknown[] = [];
      r.on('close', (c) => closes.push(c));
      await r.connect();
      setGlobalDispatcher(new Agent({ connect: { ca: pemA } }));
      parties.push(...(await joinAll(2, { relay: url, transport: 'udp', profile: 'audio' })));
      await talk(parties, 10, 20);
      expect(expectAllDelivered(parties, 10)).toEqual([]);

      const pemB = newCertificate('relay-b');
      proc.kill('SIGHUP');
      await expect.poll(() => line('config reloaded'), { timeout: 10_000, interval: 50 }).toMatchObject({ tls: 'reloaded', turnTls: 'reloaded', logLevel: 'info' });
      const fpB = await fingerprint(httpPort as number);
      expect(fpB).not.toBe(fpA);
      expect(await fingerprint(turnTlsPort)).toBe(fpB);

      // The reader from before still gets a new envelope (posted over a connection that trusts only B).
      const got = new Promise<Uint8Array>((resolve) => r.once('envelope', (e) => resolve(e.body)));
      const sealed = sealEnvelope(keys.publicKey, { kind: 'chat', body: new TextEncoder().encode('after the reload') });
      expect(await httpsPost(`${url}/v1/mailboxes/${encodeB64url(keys.mailboxId)}/envelopes`, sealed, pemB)).toBe(202);
      expect(new TextDecoder().decode(openEnvelope(keys, await got).body)).toBe('after the reload');
      // And the call goes on: every frame sent after the reload arrives.
      for (const p of parties) p.got.clear();
      await talk(parties, 10, 20);
      expect(expectAllDelivered(parties, 10)).toEqual([]);
      expect(closes).toEqual([]);

      // An unusable certificate: logged, and the one in service stays. The level follows the file.
      writeFileSync(certFile, 'not a certificate');
      writeConfig('warn');
      proc.kill('SIGHUP');
      await expect.poll(() => lines().filter((l) => l.msg === 'config reloaded').length, { timeout: 10_000, interval: 50 }).toBe(2);
      expect(lines().filter((l) => l.msg === 'config reloaded')[1]).toMatchObject({ tls: 'failed', turnTls: 'failed', logLevel: 'warn' });
      expect(lines().filter((l) => l.level === 50 && /cannot reload the (HTTPS|TURN TLS) certificate/.test(l.msg))).toHaveLength(2);
      expect(await fingerprint(httpPort as number)).toBe(fpB);
      expect(await fingerprint(turnTlsPort)).toBe(fpB);
      expect(closes).toEqual([]);
    } finally {
      await leaveAll(parties);
      reader.current?.close();
      setGlobalDispatcher(dispatcher);
      proc.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    // At warn, the info lines of the shutdown (the root's and the planes' children's) are gone.
    expect(line('shutting down')).toBeUndefined();
    expect(lines().filter((l) => l.msg === 'turn plane closed' || l.msg === 'relay stopped')).toEqual([]);
  }, 60_000);
});
