/** The SDK's public API, the same on every platform (node.ts and browser.ts re-export it). */
export * from './mailbox/index.js';
export * from './call/index.js';
export * from './rtc/index.js';
export { ready } from './ready.js';
export { XrelayClientError, type ClientErrorCode, type ClientOnlyCode } from './client-error.js';
export type { NodeSocketOptions } from './runtime.js';
export { TypedEmitter } from './emitter.js';
