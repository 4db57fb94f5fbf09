/**
 * RTP header extensions (RFC 8285) on the WebRTC edge: the one list both sides use. The SDK
 * removes every other extension from its offer (and from the answer it applies), the relay
 * answers only these. An allow-list, not a block-list: an extension a browser invents next year
 * is refused until someone argues it in here. Pure: imports nothing.
 *
 * Why each allowed one is harmless: `sdes:mid` (RFC 9143 §15) names the m-line (BUNDLE demux);
 * transport-wide sequence (draft-holmer-rmcat-transport-wide-cc-extensions-01 §2) is a per-packet
 * counter for congestion control; abs-send-time is the sender's send clock (24-bit, 6.18 fixed
 * point) for REMB. None of them carries anything derived from the media content.
 */

export const RTC_HDREXT_MID = 'urn:ietf:params:rtp-hdrext:sdes:mid';
export const RTC_HDREXT_TWCC = 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01';
export const RTC_HDREXT_ABS_SEND_TIME = 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time';

/** The only header extensions negotiated on the edge. */
export const RTC_ALLOWED_HEADER_EXTENSIONS: readonly string[] = [RTC_HDREXT_MID, RTC_HDREXT_TWCC, RTC_HDREXT_ABS_SEND_TIME];

/**
 * Extensions browsers offer that leak content or metadata the relay has no need for, with why
 * (documentation and tests; the allow-list above is what decides).
 */
export const RTC_FORBIDDEN_HEADER_EXTENSIONS: Readonly<Record<string, string>> = {
  'urn:ietf:params:rtp-hdrext:ssrc-audio-level': 'audio level of every packet in clear (RFC 6464): who speaks, and what (level traces)',
  'urn:ietf:params:rtp-hdrext:csrc-audio-level': 'audio levels of mixed sources (RFC 6465)',
  'urn:3gpp:video-orientation': 'camera orientation (device rotation)',
  'http://www.webrtc.org/experiments/rtp-hdrext/playout-delay': 'sender-chosen playout delay',
  'http://www.webrtc.org/experiments/rtp-hdrext/video-content-type': 'screen share vs camera',
  'http://www.webrtc.org/experiments/rtp-hdrext/video-timing': 'encode and packetization timing per frame',
  'http://www.webrtc.org/experiments/rtp-hdrext/color-space': 'colour space of the video',
  'urn:ietf:params:rtp-hdrext:toffset': 'capture-to-send offset per packet (RFC 5450)',
  'http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time': 'absolute capture wall-clock time',
  'http://www.webrtc.org/experiments/rtp-hdrext/video-frame-tracking-id': 'frame tracking id',
  'http://www.webrtc.org/experiments/rtp-hdrext/video-layers-allocation00': 'simulcast/SVC layer allocation',
  'https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension': 'codec dependency structure',
  'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id': 'simulcast stream id (not used: one encoding per sender)',
  'urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id': 'simulcast repair stream id (not used)',
  'urn:ietf:params:rtp-hdrext:encrypt': 'RFC 6904 header-extension encryption wrapper (nothing inside it is allowed either)',
};

/** True if `uri` may be negotiated on the edge. */
export function isAllowedHeaderExtension(uri: string): boolean {
  return RTC_ALLOWED_HEADER_EXTENSIONS.includes(uri);
}
