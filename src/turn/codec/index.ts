/** The STUN/TURN codec (RFC 8489, RFC 8656): pure buffer functions, no I/O, imports nothing of ours. */
export * from './constants.js';
export * from './header.js';
export * from './message.js';
export * from './writer.js';
export * from './ip.js';
export * from './xor-address.js';
export * from './error-code.js';
export * from './fingerprint.js';
export * from './integrity.js';
export * from './channel-data.js';
export * from './lifetime.js';
export * from './requested-transport.js';
export * from './channel-number.js';
export * from './requested-address-family.js';
export * from './unknown-attributes.js';
export * from './stream-framer.js';
