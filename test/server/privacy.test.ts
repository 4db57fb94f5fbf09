/**
 * Privacy is a feature under test: in the default posture no log line, metric or stored byte holds
 * an address, a mailbox id, an envelope id, a public key, a push token in a log, or payload; and the
 * store holds nothing that names a sender. The debug posture, when opted into, does log identifiers.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MailboxReader, PostSocket, generateMailboxKeys, postEnvelope, sealEnvelope } from '../../src/client/index.js';
import { encodeB64url } from '../../src/wire/envelope-protocol.js';
import { httpPost, startTestRelay } from '../helpers/relay.js';

async function exercise(relayUrl: string) {
  const keys = await generateMailboxKeys();
  const marker = new TextEncoder().encode('PLAINTEXT-MARKER-do-not-leak');
  const sealed = sealEnvelope(keys.publicKey, { kind: 'call-offer', body: marker });
  const raw = new Uint8Array(1024).fill(0x5a); // an unsealed body: what a careless client might post
  const ids = [(await postEnvelope(relayUrl, keys.mailboxId, sealed)).id, (await postEnvelope(relayUrl, keys.mailboxId, raw)).id];
  const sock = await PostSocket.open(relayUrl);
  ids.push(await sock.post(keys.mailboxId, raw));
  sock.close();
  await httpPost(`${relayUrl}/v1/mailboxes/${encodeB64url(keys.mailboxId)}/envelopes`, new Uint8Array(7)); // refused
  const reader = new MailboxReader({ relayUrl, keys });
  const got: string[] = [];
  reader.on('envelope', (e) => got.push(e.id));
  await reader.connect();
  await reader.registerPush('webhook', 'PUSH-TOKEN-SECRET');
  await expect.poll(() => got.length).toBe(3);
  reader.ack(got.slice(0, 1)); // leave two stored
  await new Promise((r) => setTimeout(r, 100));
  reader.close();
  return { keys, ids, marker, raw };
}

describe('privacy posture', () => {
  it('private (default): logs, metrics and the store hold no address, id, key, token or payload', async () => {
    const relay = await startTestRelay({ envelope: { webhookUrl: 'http://127.0.0.1:9/unused' } }, { logLevel: 'trace' });
    const { keys, ids } = await exercise(relay.url);
    const metrics = relay.metrics.render();
    const dataDir = relay.dataDir;
    await relay.close();
    const logs = relay.logs();
    expect(logs.length).toBeGreaterThan(0);
    expect(logs).toContain('mailbox reader authenticated'); // the lines exist, with hashed ids
    const forbidden = [
      '127.0.0.1', '::ffff:', encodeB64url(keys.mailboxId), encodeB64url(keys.publicKey), Buffer.from(keys.mailboxId).toString('hex'),
      ...ids, 'PUSH-TOKEN-SECRET', 'PLAINTEXT-MARKER', 'call-offer', 'ZZZZ',
    ];
    for (const s of forbidden) {
      expect(logs, `log contains ${s}`).not.toContain(s);
      if (s !== 'PUSH-TOKEN-SECRET') expect(metrics, `metrics contain ${s}`).not.toContain(s);
    }
    // The store: mailbox ids and bodies are there by design; no address or sender is.
    const files = readdirSync(dataDir).filter((f) => f.startsWith('envelopes.lmdb'));
    expect(files).toContain('envelopes.lmdb');
    const bytes = Buffer.concat(files.map((f) => readFileSync(join(dataDir, f))));
    expect(bytes.includes(Buffer.from(keys.mailboxId))).toBe(true); // sanity: we are reading the real store
    expect(bytes.includes(Buffer.from('127.0.0.1'))).toBe(false);
    expect(bytes.includes(Buffer.from([127, 0, 0, 1]))).toBe(false);
    expect(bytes.includes(Buffer.from('PLAINTEXT-MARKER'))).toBe(false); // sealed: only ciphertext is stored
    expect(bytes.includes(Buffer.from(keys.publicKey))).toBe(false); // the reader's key is verified, never stored
    await relay.dispose();
  });

  it('debug posture (opt-in) logs identifiers in clear', async () => {
    const relay = await startTestRelay({ logPosture: 'debug', envelope: { webhookUrl: 'http://127.0.0.1:9/unused' } }, { logLevel: 'debug' });
    const { keys } = await exercise(relay.url);
    await relay.dispose();
    expect(relay.logs()).toContain(encodeB64url(keys.mailboxId));
  });
});
