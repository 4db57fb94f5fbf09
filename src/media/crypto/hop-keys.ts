/**
 * Hop keys, relay side: libsodium's crypto_kx construction, rebuilt from node:crypto so the relay
 * needs no WASM and no end-to-end library (docs/PROTOCOL.md §2):
 *
 *   q     = X25519(server_sk, client_pk)                      (RFC 7748 §5)
 *   h     = BLAKE2b-512(q || client_pk || server_pk)          (RFC 7693, unkeyed, 64-byte output)
 *   server: tx = h[0..32], rx = h[32..64]   (client: rx = h[0..32], tx = h[32..64])
 *
 * Byte-compatible with crypto_kx_server_session_keys; test/media/hop-keys.test.ts proves it
 * against libsodium. Control plane only (one derivation per join): throwing is fine here.
 */
import { createHash, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, type KeyObject } from 'node:crypto';

const KX_PUBLIC_KEY_BYTES = 32;
const SPKI_X25519 = Buffer.from('302a300506032b656e032100', 'hex');
const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');

export interface HopKeyPair {
  readonly publicKey: Buffer;
  readonly privateKey: KeyObject;
}

export interface SessionKeys {
  /** Key of cells this side receives. */
  readonly rx: Buffer;
  /** Key of cells this side sends. */
  readonly tx: Buffer;
}

/** A fresh ephemeral X25519 key pair (one per join). */
export function generateHopKeyPair(): HopKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  return { publicKey: publicKey.export({ format: 'der', type: 'spki' }).subarray(SPKI_X25519.length), privateKey };
}

/** A key pair from a 32-byte secret scalar (test vectors only). */
export function hopKeyPairFromSecret(secret: Uint8Array): HopKeyPair {
  if (secret.length !== 32) throw new RangeError('secret must be 32 bytes');
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_X25519, secret]), format: 'der', type: 'pkcs8' });
  const publicKey = createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).subarray(SPKI_X25519.length);
  return { publicKey, privateKey };
}

/**
 * The relay's (server's) session keys for a client public key, or undefined if the key is not 32
 * bytes or yields an all-zero shared secret (a low-order point; libsodium refuses it too).
 */
export function serverSessionKeys(server: HopKeyPair, clientPk: Uint8Array): SessionKeys | undefined {
  if (clientPk.length !== KX_PUBLIC_KEY_BYTES) return undefined;
  let q: Buffer;
  try {
    const publicKey = createPublicKey({ key: Buffer.concat([SPKI_X25519, clientPk]), format: 'der', type: 'spki' });
    q = diffieHellman({ privateKey: server.privateKey, publicKey });
  } catch {
    return undefined;
  }
  if (q.every((b) => b === 0)) return undefined;
  const h = createHash('blake2b512').update(q).update(clientPk).update(server.publicKey).digest();
  q.fill(0);
  return { tx: h.subarray(0, 32), rx: h.subarray(32, 64) };
}
