/** The call SDK: CallClient and the pieces a native or browser port would mirror. */
export { CallClient, type CallOptions, type CallFrame, type CallStats, type CallEvents } from './call-client.js';
export { CallKeys, roomIdOf, kidOf } from './e2e-keys.js';
export { sealRecord, openRecord, recordBytes, capacityOf, SFRAME_HEADER_BYTES } from './sframe.js';
