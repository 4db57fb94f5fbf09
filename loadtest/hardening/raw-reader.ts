/** Authenticated mailbox readers for bound tests: one on a raw socket (that can stop reading), and the signed auth message. */
import sodium from 'libsodium-wrappers';
import type { MailboxKeys } from '../../src/client/index.js';
import { READER_PATH, authMessage, encodeB64url } from '../../src/wire/envelope-protocol.js';
import { clientFrame, jsonFrames, rawUpgrade, type RawWs } from './raw-ws.js';

export async function signedAuth(keys: MailboxKeys, challenge: string): Promise<Record<string, string>> {
  await sodium.ready;
  return {
    type: 'auth',
    mailbox: encodeB64url(keys.mailboxId),
    publicKey: encodeB64url(keys.publicKey),
    challenge,
    signature: encodeB64url(sodium.crypto_sign_detached(authMessage(Buffer.from(challenge, 'base64url'), keys.mailboxId), keys.secretKey)),
  };
}

/** Waits (polling, bounded) until `pred` holds. */
export async function until(pred: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A reader on a raw socket, authenticated (its `ready` received). Pause `raw.socket` to stop reading. */
export async function rawReader(url: string, keys: MailboxKeys): Promise<RawWs> {
  const raw = await rawUpgrade(url, READER_PATH);
  await until(() => jsonFrames(raw).some((m) => m.type === 'challenge'));
  const challenge = jsonFrames(raw).find((m) => m.type === 'challenge')!.challenge as string;
  raw.write(clientFrame(1, Buffer.from(JSON.stringify(await signedAuth(keys, challenge)))));
  await until(() => jsonFrames(raw).some((m) => m.type === 'ready' || m.type === 'error'));
  return raw;
}
