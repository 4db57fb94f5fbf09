/**
 * The mailbox reader protocol's decisions, sans-IO: what an `auth`, `ack` or `register_push` frame
 * means, and the window of envelopes sent but not yet acknowledged. No socket, no timer, no
 * randomness: the socket shell (server/reader-socket.ts) draws the challenge, owns the timers and
 * does the sending; these functions take the decoded frame and answer a result or a refusal.
 */
import { verifyMailboxAuth } from '../../crypto/mailbox-auth.js';
import { RelayError, type ErrorCode } from '../../errors.js';
import { CHALLENGE_BYTES, ENVELOPE_ID_BYTES, MAILBOX_ID_BYTES, PUBLIC_KEY_BYTES, SIGNATURE_BYTES, decodeB64url } from '../../wire/envelope-protocol.js';
import type { ChallengeBook } from './challenge-book.js';

export const MAX_ACK_IDS = 1024;
const MAX_TOKEN_CHARS = 4096;

/**
 * Checks an `auth` frame against the challenge issued to this connection; the mailbox on success.
 * A challenge answers one connection once: ours is consumed whatever the outcome.
 */
export function checkAuth(msg: Record<string, unknown>, challenge: Uint8Array, challenges: ChallengeBook): Uint8Array | RelayError {
  const mailbox = decodeB64url(msg.mailbox, MAILBOX_ID_BYTES);
  const publicKey = decodeB64url(msg.publicKey, PUBLIC_KEY_BYTES);
  const answered = decodeB64url(msg.challenge, CHALLENGE_BYTES);
  const signature = decodeB64url(msg.signature, SIGNATURE_BYTES);
  if (mailbox === undefined) return new RelayError('bad_mailbox', 'mailbox must be 32 bytes in base64url');
  if (publicKey === undefined) return new RelayError('bad_key', 'publicKey must be a 32-byte Ed25519 key in base64url');
  if (answered === undefined || signature === undefined) return new RelayError('bad_frame', 'challenge and signature are required');
  const ours = Buffer.from(answered).equals(challenge);
  const seen = challenges.consume(challenge);
  if (!ours) {
    const code: ErrorCode = challenges.wasUsed(answered) ? 'challenge_reused' : 'bad_challenge';
    return new RelayError(code, 'the signed challenge is not the one issued to this connection');
  }
  if (!seen) return new RelayError('challenge_reused', 'this challenge was already answered');
  const verdict = verifyMailboxAuth(mailbox, publicKey, challenge, signature);
  if (verdict !== 'ok') return new RelayError(verdict, verdict === 'bad_key' ? 'the key does not own this mailbox' : 'the signature does not verify');
  return mailbox;
}

/** The ids of an `ack` frame (1..MAX_ACK_IDS 16-byte ids), or the refusal. */
export function parseAckIds(raw: unknown): Uint8Array[] | RelayError {
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_ACK_IDS) return new RelayError('bad_frame', `ack needs 1..${MAX_ACK_IDS} ids`);
  const ids: Uint8Array[] = [];
  for (const text of raw) {
    const id = decodeB64url(text, ENVELOPE_ID_BYTES);
    if (id === undefined) return new RelayError('bad_frame', 'an ack id is not a 16-byte base64url id');
    ids.push(id);
  }
  return ids;
}

/** The provider and token of a `register_push` frame, or the refusal. */
export function parsePushRegistration(provider: unknown, token: unknown): { provider: string; token: string } | RelayError {
  if (typeof provider !== 'string' || typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_CHARS) {
    return new RelayError('bad_frame', `register_push needs a provider and a token of 1..${MAX_TOKEN_CHARS} characters`);
  }
  return { provider, token };
}

/**
 * Envelopes sent and not yet acknowledged: at most `maxCount` of them and `maxBytes` of frames,
 * except that one envelope always fits, whatever its size.
 */
export class UnackedWindow {
  /** Unacknowledged envelope id (latin1) -> its frame's bytes. */
  private readonly frames = new Map<string, number>();
  private bytes = 0;

  constructor(
    private readonly maxCount: number,
    private readonly maxBytes: number,
  ) {}

  get size(): number {
    return this.frames.size;
  }

  /** How many more envelopes may be asked of the store now (0: none). */
  room(): number {
    return this.maxCount - this.frames.size;
  }

  fits(frameBytes: number): boolean {
    return this.frames.size === 0 || this.bytes + frameBytes <= this.maxBytes;
  }

  add(id: Buffer, frameBytes: number): void {
    this.frames.set(id.toString('latin1'), frameBytes);
    this.bytes += frameBytes;
  }

  /** Forgets the acknowledged ids; true if any of them was in the window. */
  ack(ids: readonly Uint8Array[]): boolean {
    let progress = false;
    for (const id of ids) {
      const key = Buffer.from(id).toString('latin1');
      const frameBytes = this.frames.get(key);
      if (frameBytes === undefined) continue;
      this.frames.delete(key);
      this.bytes -= frameBytes;
      progress = true;
    }
    return progress;
  }

  clear(): void {
    this.frames.clear();
    this.bytes = 0;
  }
}
