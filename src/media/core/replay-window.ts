/** Moved to src/wire (shared by the relay and the client SDK); re-exported here for the relay's imports. */
export * from '../../wire/replay-window.js';
