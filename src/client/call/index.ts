/** The call SDK: CallClient and the pieces a native or browser port would mirror. Portable. */
export { CallClient, type CallOptions, type CallFrame, type CallStats, type CallEvents, type TransportChange, type Reconnecting, type Rejoined, type CallClosed } from './call-core.js';
export { CallKeys, roomIdOf, kidOf, checkCallSecret, MIN_CALL_SECRET_BYTES } from './e2e-keys.js';
export { sealRecord, openRecord, recordBytes, capacityOf, SFRAME_HEADER_BYTES } from './sframe.js';
export { E2ePaddingGate, paddedRoomLimit, recordsPerDownCell, type E2ePaddingStatus, type E2ePaddingReason } from './e2e-padding-gate.js';
export { DownlinkWatch, defaultSilenceMs } from './downlink-watch.js';
