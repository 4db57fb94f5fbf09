/**
 * One join of a call's session, shared by CallClient.join() and its rejoin after a silent relay: a
 * fresh X25519 key pair, the join through the relay list (join-request.ts: redirects, hand-overs),
 * the hop keys. The private key is wiped whatever happens.
 */
import { sodiumOrThrow } from '../crypto-lib.js';
import { roomIdOf } from './e2e-keys.js';
import { HopLink } from './hop-link.js';
import { requestJoin, type JoinAnswer } from './join-request.js';
import type { CallOptions } from './call-types.js';

/** Default rejoin window: 20 ticks, at least 2 s (above the UDP failover window and a WebSocket's opening). */
export function defaultRejoinSilenceMs(tickMs: number): number {
  return Math.max(20 * tickMs, 2_000);
}

/** A join through the relay list with a fresh hop key pair: the answer, the hop link, the admitting node. */
export async function joinSession(opts: CallOptions): Promise<{ answer: JoinAnswer; hop: HopLink; relay: string }> {
  const kp = sodiumOrThrow().crypto_kx_keypair();
  try {
    const { answer, serverPublicKey, relay } = await requestJoin(opts.relay, roomIdOf(opts.callSecret), kp.publicKey, opts.profile ?? 'audio', opts.maxRedirects);
    const keys = HopLink.keys(kp, serverPublicKey);
    return { answer, hop: new HopLink(answer.session, keys.tx, keys.rx, answer.profile.upBytes, answer.profile.downBytes), relay };
  } finally {
    kp.privateKey.fill(0);
  }
}

/** A random multiple of 2^20 below 2^52 (the counter stays a safe integer for 2^52 more records). */
export function randomCounterStart(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]! * 0x10_0000;
}
