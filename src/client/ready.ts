/**
 * libsodium readiness, in one place. libsodium compiles its WebAssembly asynchronously, so its
 * functions do not exist until it is ready. The SDK's rule:
 *   - every async entry point (generateMailboxKeys, postEnvelope, PostSocket.open,
 *     MailboxReader.connect, CallClient.join) awaits readiness itself;
 *   - every synchronous one (sealEnvelope, openEnvelope, mailboxIdOf, sealRecord, openRecord,
 *     CallKeys, roomIdOf) needs one `await ready()` first, and throws `not_ready` otherwise
 *     (instead of libsodium's "... is not a function").
 */
import { sodiumIsReady, sodiumLoaded } from './crypto-lib.js';

/** Resolves once the crypto library is usable; cheap to call again. */
export async function ready(): Promise<void> {
  if (!sodiumIsReady()) await sodiumLoaded();
}
