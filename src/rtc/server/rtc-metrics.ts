/**
 * The WebRTC edge's /metrics. Every label comes from a closed set (kinds, reasons, results):
 * never a room, session, member tag or address. The hot path bumps plain integers; the registry
 * reads them at scrape time.
 */
import type { MetricsRegistry } from '../../observability/metrics.js';
import { OFFER_REASONS } from '../codec/sdp-offer.js';

export const RTC_DROP_REASONS = ['not_connected', 'client_message', 'replay', 'bad_tag', 'garbage', 'stun_malformed', 'stun_unknown_ufrag', 'stun_bad_integrity', 'unknown_source', 'dtls_malformed', 'dtls_plaintext', 'dtls_bad_record'] as const;
export const RTC_CLOSE_REASONS = ['leave', 'connect_timeout', 'idle_timeout', 'failed', 'shutdown', 'room_moved'] as const;
export const RTC_JOIN_RESULTS = ['ok', 'bad_sdp', 'unsupported_media_type', 'size_not_allowed', 'unknown_profile', 'room_full', 'profile_mismatch', 'too_many_sessions', 'rate_limited', 'bad_request', 'room_elsewhere', 'node_draining', 'store_unavailable', 'shutting_down', 'internal'] as const;
export const RTC_KEYFRAME_RESULTS = ['forwarded', 'suppressed', 'new_slot'] as const;

export type RtcDropReason = (typeof RTC_DROP_REASONS)[number];
export type RtcCloseReason = (typeof RTC_CLOSE_REASONS)[number];

/** Plain counters the plane bumps (no label lookups on the packet path). */
export class RtcCounters {
  readonly packets = { audio: 0, video: 0 };
  readonly bytes = { audio: 0, video: 0 };
  readonly drops: Record<RtcDropReason, number> = { not_connected: 0, client_message: 0, replay: 0, bad_tag: 0, garbage: 0, stun_malformed: 0, stun_unknown_ufrag: 0, stun_bad_integrity: 0, unknown_source: 0, dtls_malformed: 0, dtls_plaintext: 0, dtls_bad_record: 0 };
  /** Padding-only RTP packets sent on paced audio slots (docs/RTC.md, "Downlink padding"). */
  padding = 0;
  /** Forwarded audio packets above rtc.audioPadBytes (sent as they are, once per uplink packet). */
  padOversize = 0;
}

export interface RtcMetrics {
  readonly counters: RtcCounters;
  join(result: string): void;
  offerRefused(reason: string): void;
  closed(reason: RtcCloseReason): void;
  keyframe(result: (typeof RTC_KEYFRAME_RESULTS)[number]): void;
}

/** What the plane reports at scrape time: its tables' sizes and the UDP port's. */
export interface RtcLive {
  sessions: number;
  rooms: number;
  muxSessions: number;
  muxTuples: number;
  muxEvictions: number;
}

export function registerRtcMetrics(metrics: MetricsRegistry, live: () => RtcLive): RtcMetrics {
  const counters = new RtcCounters();
  const packets = metrics.counter('xrelay_rtc_forwarded_packets_total', 'RTP packets the WebRTC edge forwarded to a receive slot (one per receiver), by kind.', 'kind');
  const bytes = metrics.counter('xrelay_rtc_forwarded_bytes_total', 'RTP payload bytes the WebRTC edge forwarded (one count per receiver), by kind.', 'kind');
  const dropped = metrics.counter('xrelay_rtc_dropped_total', 'Packets or messages the WebRTC edge did not forward, by reason: `not_connected` (the receiver\'s transport is not up yet), `client_message` (a client wrote on the relay-to-client roster channel), `replay` (an uplink packet that authenticated but whose SRTP index was seen before or is too old), `bad_tag` (an SRTP or SRTCP packet whose authentication tag did not verify), `garbage` (a datagram on a session\'s 5-tuple that is neither STUN, DTLS nor RTP/RTCP); at the one UDP port, before any session: `stun_malformed` (first byte 0..3 but not well-formed STUN, or a bad FINGERPRINT), `stun_unknown_ufrag` (a STUN request naming no live session), `stun_bad_integrity` (a STUN request naming a session whose MESSAGE-INTEGRITY is missing or wrong), `unknown_source` (anything else from a 5-tuple no authenticated check latched), `dtls_malformed` (a DTLS-range datagram on a session\'s 5-tuple that is not whole DTLS 1.0/1.2 records), `dtls_plaintext` (after the session\'s DTLS handshake, a record in clear: unauthenticated), `dtls_bad_record` (a DTLS record that framed well but did not decrypt or authenticate).', 'reason');
  const joins = metrics.counter('xrelay_rtc_joins_total', 'WebRTC join requests (offers), by result: `ok` or the error code answered.', 'result');
  const refused = metrics.counter('xrelay_rtc_offers_refused_total', 'Offers answered `bad_sdp`, by what was wrong.', 'reason');
  const closes = metrics.counter('xrelay_rtc_sessions_closed_total', 'WebRTC sessions ended, by reason.', 'reason');
  const keyframes = metrics.counter('xrelay_rtc_keyframe_requests_total', 'Key-frame requests (PLI) to senders, by result: `forwarded` (a receiver\'s PLI/FIR), `suppressed` (within rtc.keyframeMinIntervalMs of the last), `new_slot` (a connected receiver got a video slot: on its connect, or a freed slot refilled).', 'result');
  const padding = metrics.counter('xrelay_rtc_padding_packets_total', 'Padding-only RTP packets (RFC 3550 §5.1) the WebRTC edge sent on paced audio receive slots whose member was quiet, absent or stalled (rtc.audioPadding).');
  const oversize = metrics.counter('xrelay_rtc_pad_oversize_total', 'Uplink audio packets larger than rtc.audioPadBytes: forwarded as they are, so their size stands out on every receiver\'s downlink.');
  const sessions = metrics.gauge('xrelay_rtc_sessions', 'Live WebRTC sessions.');
  const rooms = metrics.gauge('xrelay_rtc_rooms', 'Live WebRTC rooms.');
  const muxSessions = metrics.gauge('xrelay_rtc_udp_sessions', 'Sessions registered at the WebRTC edge\'s one UDP port (answered, not yet closed; equals xrelay_rtc_sessions when nothing leaks).');
  const muxTuples = metrics.gauge('xrelay_rtc_udp_tuples', 'Remote 5-tuples latched to a session at the WebRTC edge\'s one UDP port (each by an authenticated ICE check).');
  const evictions = metrics.counter('xrelay_rtc_udp_tuple_evictions_total', 'Latched 5-tuples dropped because their session reached its bound of 5-tuples (its least recently used one goes).');
  for (const r of RTC_DROP_REASONS) dropped.inc(0, r);
  for (const r of RTC_CLOSE_REASONS) closes.inc(0, r);
  for (const r of OFFER_REASONS) refused.inc(0, r);
  refused.inc(0, 'negotiation');
  for (const r of RTC_KEYFRAME_RESULTS) keyframes.inc(0, r);
  const results = new Set<string>(RTC_JOIN_RESULTS);
  metrics.onCollect(() => {
    for (const k of ['audio', 'video'] as const) {
      packets.follow(counters.packets[k], k);
      bytes.follow(counters.bytes[k], k);
    }
    for (const r of RTC_DROP_REASONS) dropped.follow(counters.drops[r], r);
    padding.follow(counters.padding);
    oversize.follow(counters.padOversize);
    const l = live();
    sessions.set(l.sessions);
    rooms.set(l.rooms);
    muxSessions.set(l.muxSessions);
    muxTuples.set(l.muxTuples);
    evictions.follow(l.muxEvictions);
  });
  return {
    counters,
    join: (result) => joins.inc(1, results.has(result) ? result : 'internal'),
    offerRefused: (reason) => refused.inc(1, reason),
    closed: (reason) => closes.inc(1, reason),
    keyframe: (result) => keyframes.inc(1, result),
  };
}
