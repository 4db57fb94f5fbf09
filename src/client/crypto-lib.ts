/**
 * The SDK's one door to libsodium (internal: public types never mention libsodium's). See ready.ts
 * for the readiness rule.
 */
import sodium from 'libsodium-wrappers';
import { XrelayClientError } from './client-error.js';

/** True once libsodium's functions exist (whoever awaited its readiness). */
export function sodiumIsReady(): boolean {
  return typeof (sodium as { crypto_box_seal?: unknown }).crypto_box_seal === 'function';
}

export function sodiumLoaded(): Promise<void> {
  return sodium.ready;
}

/** The crypto library, or a `not_ready` error when `await ready()` has not completed. */
export function sodiumOrThrow(): typeof sodium {
  if (!sodiumIsReady()) throw new XrelayClientError('not_ready', 'call `await ready()` (from the SDK) before this synchronous function');
  return sodium;
}
