/**
 * RFC 8489 section 9.2.4: checking a request's long-term credentials. It returns the STUN error code
 * to answer (400, 401, 438) or 0 with the username and key, and keeps no per-client state.
 */
import { Attr, ErrorCodes } from '../codec/constants.js';
import { verifyIntegrity, verifyIntegritySha256 } from '../codec/integrity.js';
import type { StunMessage } from '../codec/message.js';
import { CredentialResult, CredentialStore, type CredentialLookup } from './credentials.js';
import { NonceCheck, NonceIssuer } from './nonce.js';

export interface Auth {
  username: string;
  key: Buffer;
  /** The request used MESSAGE-INTEGRITY-SHA256; answers use it too. */
  sha256: boolean;
}

export class Authenticator {
  private readonly credentials: CredentialStore;
  private readonly nonces: NonceIssuer;
  private readonly lookup: CredentialLookup = { result: 0, key: undefined };

  constructor(
    private readonly realm: string,
    authSecret: string,
    staticUsers: readonly string[],
    nonceKey: Uint8Array,
    nonceLifetimeMs: number,
  ) {
    this.credentials = new CredentialStore(realm, authSecret, staticUsers);
    this.nonces = new NonceIssuer(nonceKey, nonceLifetimeMs);
  }

  issueNonce(clientIp: string, nowMs: number): string {
    return this.nonces.issue(clientIp, nowMs);
  }

  /** 0 when `m` is authentic (then `out` is filled), else the error code to answer. */
  check(m: StunMessage, clientIp: string, nowMs: number, out: Auth): number {
    if (m.integrityAt < 0 && m.integritySha256At < 0) return ErrorCodes.unauthorized;
    const username = m.string(Attr.username);
    const realm = m.string(Attr.realm);
    const nonce = m.string(Attr.nonce);
    if (username === undefined || realm === undefined || nonce === undefined) return ErrorCodes.badRequest;
    if (this.nonces.check(nonce, clientIp, nowMs) !== NonceCheck.valid) return ErrorCodes.staleNonce;
    if (realm !== this.realm) return ErrorCodes.unauthorized;
    this.credentials.lookup(username, nowMs, this.lookup);
    const key = this.lookup.key;
    if (this.lookup.result !== CredentialResult.ok || key === undefined) return ErrorCodes.unauthorized;
    const sha256 = m.integritySha256At >= 0;
    const ok = sha256 ? verifyIntegritySha256(m.buf, m.integritySha256At, key) : verifyIntegrity(m.buf, m.integrityAt, key);
    if (!ok) return ErrorCodes.unauthorized;
    out.username = username;
    out.key = key;
    out.sha256 = sha256;
    return 0;
  }
}
