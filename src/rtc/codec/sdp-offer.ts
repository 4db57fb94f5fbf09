/**
 * The SDP offers the WebRTC edge accepts (docs/RTC.md, "Signalling"), read line by line.
 *
 * SDP syntax: RFC 8866 §5 (`<type>=<value>` lines; `m=` opens a media description, §5.14).
 * What the policy needs from an offer, and where each piece is defined:
 * - `a=group:BUNDLE <mid>...` (RFC 8843 §7.1) over every m-line: one transport for all;
 * - `a=rtcp-mux` (RFC 5761 §5.1.3) on every RTP m-line: RTP and RTCP on one port;
 * - `a=mid` (RFC 5888 §4), the direction attributes (RFC 3264 §6.1, `sendonly`/`recvonly`/...);
 * - `a=rtpmap:<pt> <name>/<clock>[/<channels>]` (RFC 8866 §6.6) for the codecs offered;
 * - `m=application ... webrtc-datachannel` (RFC 8841 §4.1) for the roster channel.
 * The layout (uplink m-lines first, then receive slots, then the data channel) is the contract's
 * (docs/RTC.md, "What an offer must look like"); a parse returns a reason code, never throws.
 */

export type MediaKind = 'audio' | 'video' | 'application';
export type Direction = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

export interface OfferMedia {
  readonly kind: MediaKind;
  readonly mid: string;
  readonly direction: Direction;
  readonly rtcpMux: boolean;
  /** Codec names (lower case) from `a=rtpmap`, with their clock rate: `opus/48000`. */
  readonly codecs: readonly string[];
}

export interface Offer {
  readonly bundle: readonly string[];
  readonly media: readonly OfferMedia[];
}

/** Why an offer is refused (all answered as `bad_sdp`; the reason is counted and logged). */
export type OfferReason = 'unparsable' | 'no_bundle' | 'no_rtcp_mux' | 'no_codec' | 'too_many_m_lines' | 'bad_layout';

export const OFFER_REASONS: readonly OfferReason[] = ['unparsable', 'no_bundle', 'no_rtcp_mux', 'no_codec', 'too_many_m_lines', 'bad_layout'];

/** The codec each kind must offer (name/clock, as in `a=rtpmap`): Opus (RFC 7587 §7) and VP8 (RFC 7741 §6.1). */
export const REQUIRED_CODEC = { audio: 'opus/48000', video: 'vp8/90000' } as const;

const MEDIA_LINE = /^m=(\w+) \d+(?:\/\d+)? (\S+)/;
const DIRECTIONS = new Set<string>(['sendrecv', 'sendonly', 'recvonly', 'inactive']);
/** More m-lines than any allowed layout has is refused before any other work. */
const MAX_M_LINES_HARD = 64;

interface Draft {
  kind: MediaKind;
  mid: string;
  direction: Direction;
  rtcpMux: boolean;
  codecs: string[];
}

/** Reads the parts of an offer the policy needs, or the reason it cannot. */
export function parseOffer(text: string): Offer | OfferReason {
  const lines = text.split(/\r?\n/);
  if (lines[0] !== 'v=0') return 'unparsable';
  let bundle: string[] | undefined;
  const media: Draft[] = [];
  let current: Draft | undefined;
  for (const line of lines) {
    if (line === '') continue;
    if (line.length < 2 || line[1] !== '=') return 'unparsable';
    if (line.startsWith('m=')) {
      const m = MEDIA_LINE.exec(line);
      if (m === null) return 'unparsable';
      const kind = m[1]!;
      if (kind !== 'audio' && kind !== 'video' && kind !== 'application') return 'bad_layout';
      if (media.length >= MAX_M_LINES_HARD) return 'too_many_m_lines';
      current = { kind, mid: '', direction: 'sendrecv', rtcpMux: false, codecs: [] };
      media.push(current);
      continue;
    }
    if (!line.startsWith('a=')) continue;
    const attr = line.slice(2);
    if (current === undefined) {
      if (attr.startsWith('group:BUNDLE ')) bundle = attr.slice(13).trim().split(/\s+/);
      continue;
    }
    if (attr.startsWith('mid:')) current.mid = attr.slice(4).trim();
    else if (attr === 'rtcp-mux') current.rtcpMux = true;
    else if (DIRECTIONS.has(attr)) current.direction = attr as Direction;
    else if (attr.startsWith('rtpmap:')) {
      const codec = /^rtpmap:\d+ ([^/\s]+)\/(\d+)/.exec(attr);
      if (codec === null) return 'unparsable';
      current.codecs.push(`${codec[1]!.toLowerCase()}/${codec[2]!}`);
    }
  }
  if (media.length === 0 || media.some((m) => m.mid === '')) return 'unparsable';
  if (bundle === undefined) return 'no_bundle';
  return { bundle, media };
}

/**
 * The offer against the layout of a profile: uplink(s) `sendonly` first (audio; then video for
 * `video`), then receive slots `recvonly` (audio, then as many video for `video`), at most
 * `maxSlots` of each kind, then exactly one data channel; all bundled, all RTP m-lines muxed.
 * Returns the receive-slot mids by kind, or the reason.
 */
export function checkOffer(offer: Offer, video: boolean, maxSlots: number): { audio: string[]; video: string[] } | OfferReason {
  const m = offer.media;
  const uplinks = video ? 2 : 1;
  const maxLines = uplinks + maxSlots * uplinks + 1;
  if (m.length > maxLines) return 'too_many_m_lines';
  const bundled = new Set(offer.bundle);
  if (m.some((x) => !bundled.has(x.mid))) return 'no_bundle';
  if (m.some((x) => x.kind !== 'application' && !x.rtcpMux)) return 'no_rtcp_mux';
  for (const x of m) {
    if (x.kind !== 'application' && !x.codecs.includes(REQUIRED_CODEC[x.kind])) return 'no_codec';
  }
  const last = m[m.length - 1]!;
  if (last.kind !== 'application' || m.filter((x) => x.kind === 'application').length !== 1) return 'bad_layout';
  if (m[0]!.kind !== 'audio' || m[0]!.direction !== 'sendonly') return 'bad_layout';
  if (video && (m[1]?.kind !== 'video' || m[1].direction !== 'sendonly')) return 'bad_layout';
  const slots = m.slice(uplinks, m.length - 1);
  const audio = slots.filter((x) => x.kind === 'audio');
  const vid = slots.filter((x) => x.kind === 'video');
  if (slots.some((x) => x.direction !== 'recvonly')) return 'bad_layout';
  if (!video && vid.length > 0) return 'bad_layout';
  if (video && vid.length !== audio.length) return 'bad_layout';
  // audio slots come before video slots (contract): one kind switch at most
  const firstVideo = slots.findIndex((x) => x.kind === 'video');
  if (firstVideo >= 0 && slots.slice(firstVideo).some((x) => x.kind !== 'video')) return 'bad_layout';
  if (audio.length > maxSlots) return 'too_many_m_lines';
  return { audio: audio.map((x) => x.mid), video: vid.map((x) => x.mid) };
}
