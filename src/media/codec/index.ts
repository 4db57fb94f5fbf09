/** The cell codec: layouts only, pure, shared by the relay and the client SDK. */
export * from './cell-layout.js';
export * from './cell-body.js';
export * from './control-records.js';
export * from './profiles.js';
