/** xentrop-relay: the relay (composition root, config) and, under `xentrop-relay/client`, the SDK. */
export { startRelay, type Relay, type RelayOptions } from './relay.js';
export { loadConfig, defaultConfig, ConfigError } from './config/load.js';
export type { RelayConfig } from './config/schema.js';
export { RelayError, ERROR_CODES, type ErrorCode } from './errors.js';
