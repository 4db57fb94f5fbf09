/**
 * libsodium readiness, in one place. libsodium compiles its WebAssembly asynchronously, so its
 * functions do not exist until `sodium.ready` resolved. The SDK's rule:
 *   - every async entry point (generateMailboxKeys, postEnvelope, PostSocket.open,
 *     MailboxReader.connect, CallClient.join) awaits readiness itself;
 *   - every synchronous one (sealEnvelope, openEnvelope, mailboxIdOf, sealRecord, openRecord,
 *     CallKeys, roomIdOf) needs one `await ready()` first, and throws `not_ready` otherwise
 *     (instead of libsodium's "... is not a function").
 */
import sodium from 'libsodium-wrappers';
import { XrelayClientError } from './client-error.js';

/** True once libsodium's functions exist (whoever awaited its readiness). */
function isReady(): boolean {
  return typeof (sodium as { crypto_box_seal?: unknown }).crypto_box_seal === 'function';
}

/** Resolves once the crypto library is usable; cheap to call again. */
export async function ready(): Promise<void> {
  if (!isReady()) await sodium.ready;
}

/** The crypto library, or a `not_ready` error when `await ready()` has not completed. */
export function sodiumOrThrow(): typeof sodium {
  if (!isReady()) throw new XrelayClientError('not_ready', 'call `await ready()` (from the SDK) before this synchronous function');
  return sodium;
}
