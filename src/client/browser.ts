/**
 * The SDK for browsers (and other web-standard runtimes): the platform's WebSocket for cells,
 * readers and post sockets; fetch for joins and posts; no UDP, so `transport: 'auto'` is the
 * WebSocket. `exports` conditions `browser` and `default`. Imports no Node built-in (checked by
 * test/client/browser-bundle.test.ts).
 */
import { installRuntime } from './runtime.js';
import { webRuntime } from './runtime-web.js';

installRuntime(webRuntime);
export * from './api.js';
export { RtcE2ee, availableTransformModes, type RtcE2eeOptions, type RtcTransformMode } from './rtc/rtc-e2ee.js';
export { RtcCall, type RtcJoinOptions, type RtcCallEvents, type RtcCallStats, type RtcProfile } from './rtc/rtc-call.js';
export type { RtcMember } from './rtc/rtc-members.js';
export { restrictToEdgeRules } from './rtc/edge-prefs.js';
