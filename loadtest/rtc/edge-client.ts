/**
 * The werift client of the WebRTC edge lives in the load kit (src/load/rtc/edge-client.ts: the
 * kit's WebRTC participants are built on it); tests and npm run bench:rtc import it from here.
 */
export { EdgeClient, roomId, waitFor, type Roster } from '../../src/load/rtc/edge-client.js';
