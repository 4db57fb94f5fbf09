/** HTTPS/WSS served directly with a self-signed pair made here; health, readiness, metrics; the plain-HTTP warning. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MailboxReader, generateMailboxKeys, sealEnvelope, openEnvelope } from '../../src/client/index.js';
import { encodeB64url } from '../../src/wire/envelope-protocol.js';
import { startTestRelay, tempDir } from '../helpers/relay.js';

function selfSigned(): { cert: string; key: string } {
  const dir = tempDir('xrelay-tls-');
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return { cert, key };
}

function httpsPost(url: string, body: Uint8Array, ca: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', ca }, (res) => {
      let text = '';
      res.on('data', (d) => (text += String(d)));
      res.on('end', () => resolve({ status: res.statusCode!, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('TLS', () => {
  it('serves HTTPS posts and a WSS reader directly, with no proxy in front', async () => {
    const { cert, key } = selfSigned();
    const relay = await startTestRelay({ tlsCert: cert, tlsKey: key });
    const ca = readFileSync(cert);
    try {
      expect(relay.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const keys = await generateMailboxKeys();
      const sealed = sealEnvelope(keys.publicKey, { kind: 'chat', body: new TextEncoder().encode('over tls') });
      const r = await httpsPost(`${relay.url}/v1/mailboxes/${encodeB64url(keys.mailboxId)}/envelopes`, sealed, ca);
      expect(r.status).toBe(202);
      const reader = new MailboxReader({ relayUrl: relay.url, keys, wsOptions: { ca }, autoAck: true });
      const got = new Promise<Uint8Array>((resolve) => reader.once('envelope', (e) => resolve(e.body)));
      await reader.connect();
      expect(new TextDecoder().decode(openEnvelope(keys, await got).body)).toBe('over tls');
      reader.close();
      // A client that does not trust the certificate is refused by TLS itself.
      await expect(httpsPost(`${relay.url}/healthz`, new Uint8Array(0), Buffer.from(''))).rejects.toThrow();
    } finally {
      await relay.dispose();
    }
  });
});

describe('operations endpoints', () => {
  it('healthz, readyz and metrics without per-mailbox labels', async () => {
    const relay = await startTestRelay();
    try {
      expect(await (await fetch(`${relay.url}/healthz`)).json()).toEqual({ status: 'ok' });
      expect(await (await fetch(`${relay.url}/readyz`)).json()).toEqual({ status: 'ready' });
      const mailbox = encodeB64url(new Uint8Array(32).fill(42));
      await fetch(`${relay.url}/v1/mailboxes/${mailbox}/envelopes`, { method: 'POST', body: new Uint8Array(256) });
      const text = await (await fetch(`${relay.url}/metrics`)).text();
      for (const name of ['xrelay_http_requests_total', 'xrelay_envelopes_stored_total 1', 'xrelay_envelopes_delivered_total', 'xrelay_envelopes_expired_total', 'xrelay_envelopes_rejected_total', 'xrelay_store_write_seconds_bucket', 'xrelay_store_envelopes 1', 'process_cpu_seconds_total', 'process_resident_memory_bytes']) {
        expect(text).toContain(name);
      }
      expect(text).not.toContain(mailbox);
      expect(text).not.toContain('127.0.0.1');
    } finally {
      await relay.dispose();
    }
  });

  it('/metrics answers only addresses in metricsAllow (loopback by default; through trustProxy behind a proxy)', async () => {
    const relay = await startTestRelay({ metricsAllow: ['10.0.0.0/8'] });
    try {
      const refused = await fetch(`${relay.url}/metrics`);
      expect(refused.status).toBe(403);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('forbidden');
      expect((await fetch(`${relay.url}/healthz`)).status).toBe(200);
    } finally {
      await relay.dispose();
    }
    // A local reverse proxy: its loopback address must not open /metrics to everyone it forwards.
    const proxied = await startTestRelay({ trustProxy: ['127.0.0.1'] });
    try {
      expect((await fetch(`${proxied.url}/metrics`, { headers: { 'x-forwarded-for': '203.0.113.8' } })).status).toBe(403);
      expect((await fetch(`${proxied.url}/metrics`)).status).toBe(200);
    } finally {
      await proxied.dispose();
    }
  });

  it('warns at start when serving plain HTTP beyond loopback', async () => {
    const quiet = await startTestRelay({ logLevel: 'warn' });
    expect(quiet.logs()).not.toContain('plain HTTP');
    await quiet.dispose();
    // Binding all interfaces is the case to warn about; no traffic is sent anywhere.
    const open = await startTestRelay({ host: '0.0.0.0', logLevel: 'warn' });
    try {
      expect(open.logs()).toContain('serving plain HTTP on a non-loopback address');
    } finally {
      await open.dispose();
    }
  });
});
