/**
 * RTP header extensions the WebRTC edge negotiates, and the SDP filter that keeps every other one
 * out of an answer.
 *
 * RFC 8285 §5 (`a=extmap:<id>[/<direction>] <URI> [<attributes>]`), §6 (offer/answer: an answerer
 * that does not list an extension has refused it, and the offerer must not send it). What stays
 * is what forwarding needs and nothing about content:
 * - `urn:ietf:params:rtp-hdrext:sdes:mid` (RFC 8843 §15.2): which m-line (slot) a packet belongs to;
 * - transport-wide sequence number (draft-holmer-rmcat-transport-wide-cc-extensions-01 §2): per-hop
 *   bandwidth estimation feedback (TWCC); allowed, but the edge's werift sessions do not negotiate
 *   it today (server/peer-session.ts says why);
 * - abs-send-time (webrtc.org experiment): send-side timing for REMB-style estimators.
 * Refused, among others: audio level (RFC 6464, tells who speaks and how loudly), CSRC audio level
 * (RFC 6465), video orientation (3GPP TS 26.114 §7.4.5), playout delay, color space, video content
 * type/timing, dependency descriptor (frame structure).
 */

export const EXT_MID = 'urn:ietf:params:rtp-hdrext:sdes:mid';
export const EXT_TWCC = 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01';
export const EXT_ABS_SEND_TIME = 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time';

export const ALLOWED_EXTENSION_URIS: ReadonlySet<string> = new Set([EXT_MID, EXT_TWCC, EXT_ABS_SEND_TIME]);

const EXTMAP = /^a=extmap:\d+(?:\/\w+)?\s+(\S+)/;

/** The URI of an `a=extmap` line, or undefined for any other line (RFC 8285 §5). */
export function extmapUri(line: string): string | undefined {
  return EXTMAP.exec(line)?.[1];
}

/** `sdp` without any `a=extmap` line whose URI is not allowed (CRLF line ends, RFC 8866 §5). */
export function stripForbiddenExtensions(sdp: string): string {
  const lines = sdp.split(/\r?\n/);
  const kept = lines.filter((l) => {
    const uri = extmapUri(l);
    return uri === undefined || ALLOWED_EXTENSION_URIS.has(uri);
  });
  return kept.join('\r\n');
}

/** The forbidden extension URIs an SDP negotiates (none in any answer of the edge). */
export function forbiddenExtensions(sdp: string): string[] {
  const found = new Set<string>();
  for (const l of sdp.split(/\r?\n/)) {
    const uri = extmapUri(l);
    if (uri !== undefined && !ALLOWED_EXTENSION_URIS.has(uri)) found.add(uri);
  }
  return [...found];
}
