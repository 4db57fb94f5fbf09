/**
 * Long-term credentials (RFC 8489 section 9.2) from two sources, so the relay keeps no user database:
 * static `user:password` pairs, and time-limited REST credentials (draft-uberti-behave-turn-rest, the
 * scheme coturn calls `use-auth-secret`): username `expiry[:tag]`, password
 * base64(HMAC-SHA1(secret, username)), refused once `expiry` (Unix seconds) has passed.
 */
import { createHmac } from 'node:crypto';
import { longTermKey } from '../codec/integrity.js';

export const CredentialResult = { ok: 0, unknown: 1, expired: 2 } as const;

export interface CredentialLookup {
  result: number;
  key: Buffer | undefined;
}

/** Computes a REST password; exported for tests and for operators' token issuers. */
export function restPassword(secret: string, username: string): string {
  return createHmac('sha1', secret).update(username).digest('base64');
}

export class CredentialStore {
  private readonly staticKeys = new Map<string, Buffer>();

  constructor(
    private readonly realm: string,
    private readonly secret: string,
    staticUsers: readonly string[],
  ) {
    for (const entry of staticUsers) {
      const colon = entry.indexOf(':');
      if (colon <= 0) throw new TypeError('turn.staticUsers entries must be user:password');
      const user = entry.slice(0, colon);
      this.staticKeys.set(user, longTermKey(user, realm, entry.slice(colon + 1)));
    }
  }

  lookup(username: string, nowMs: number, out: CredentialLookup): void {
    out.key = this.staticKeys.get(username);
    if (out.key) {
      out.result = CredentialResult.ok;
      return;
    }
    if (this.secret === '') {
      out.result = CredentialResult.unknown;
      return;
    }
    const colon = username.indexOf(':');
    const stamp = colon < 0 ? username : username.slice(0, colon);
    if (!/^\d{1,12}$/.test(stamp)) {
      out.result = CredentialResult.unknown;
      return;
    }
    if (Number(stamp) * 1000 <= nowMs) {
      out.result = CredentialResult.expired;
      return;
    }
    out.result = CredentialResult.ok;
    out.key = longTermKey(username, this.realm, restPassword(this.secret, username));
  }
}
