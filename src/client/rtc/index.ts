/**
 * The WebRTC side of the SDK. Portable (Node too): frame sealing, KIDs, the audio/VP8 policy, SDP
 * munging and checks, the roster parser. Browser only (exported from browser.ts): RtcE2ee, RtcCall.
 */
export { FrameSealer, FrameOpener, SEALED_AUDIO_BYTES, emptyRtcE2eStats, addRtcE2eStats, type RtcE2eStats, type RtcMediaKind } from './frame-e2ee.js';
export { E2eeEngine, type RtcE2eReport } from './e2ee-engine.js';
export { randomRtcKid, isRtcKid, keyOfKid } from './frame-keys.js';
export { AUDIO_PAD_BYTES, OPUS_BITRATE, OPUS_FRAME_MS, vp8ClearBytes } from './frame-policy.js';
export { mungeRtcSdp, checkRtcOffer, forbiddenExtensionsIn, opusParamsIn, rtcSections, type RtcSdpSection } from './sdp-munge.js';
export { parseRtcRoster, type RtcRoster, type RtcSlot } from './roster.js';
export { RTC_ALLOWED_HEADER_EXTENSIONS, RTC_FORBIDDEN_HEADER_EXTENSIONS, isAllowedHeaderExtension } from '../../wire/rtc-header-extensions.js';
