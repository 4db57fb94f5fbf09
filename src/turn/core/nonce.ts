/**
 * Stateless nonces (RFC 8489 section 9.2, long-term credentials): NONCE = expiry (hex ms) + "." +
 * truncated HMAC-SHA256(key, expiry | client address). The server keeps no state per unauthenticated
 * client; an expired or forged nonce is stale (438) and the client retries with the fresh one.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const NonceCheck = { valid: 0, stale: 1 } as const;

export class NonceIssuer {
  constructor(
    private readonly key: Uint8Array,
    private readonly lifetimeMs: number,
  ) {}

  private mac(expiry: string, clientIp: string): string {
    return createHmac('sha256', this.key).update(expiry).update('|').update(clientIp).digest('base64url').slice(0, 16);
  }

  issue(clientIp: string, nowMs: number): string {
    const expiry = Math.floor(nowMs + this.lifetimeMs).toString(16);
    return `${expiry}.${this.mac(expiry, clientIp)}`;
  }

  check(nonce: string, clientIp: string, nowMs: number): number {
    const dot = nonce.indexOf('.');
    if (dot <= 0 || dot > 14) return NonceCheck.stale;
    const expiry = nonce.slice(0, dot);
    const expected = Buffer.from(this.mac(expiry, clientIp));
    const got = Buffer.from(nonce.slice(dot + 1));
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) return NonceCheck.stale;
    const expiresAt = parseInt(expiry, 16);
    return Number.isFinite(expiresAt) && nowMs < expiresAt ? NonceCheck.valid : NonceCheck.stale;
  }
}
