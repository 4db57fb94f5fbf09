/**
 * The edge's signalling, WHIP-style (RFC 9725 as the style reference; docs/RTC.md):
 *   POST /v1/rtc/rooms/{room}?profile=audio|audio-room|video   Content-Type: application/sdp
 *     body: the SDP offer  ->  201, Content-Type: application/sdp, body: the answer,
 *     Location: /v1/rtc/sessions/{session}
 *   DELETE /v1/rtc/sessions/{session}  ->  204 (the session and everything it held are freed)
 * Errors are the relay's JSON errors: bad_sdp, unsupported_media_type, size_not_allowed,
 * unknown_profile, room_full, profile_mismatch, too_many_sessions, rate_limited, not_found.
 * Checks run cheapest first: rate and content type before the body, the body's size while it is
 * read, the offer's shape before any socket or certificate work.
 * Cluster mode (README "Rooms in a cluster"): the same placement as cell joins; a node that does
 * not hold the room answers 409 with the holder's base URL, in the cell join's body shape
 *   { "error": {"code": "room_elsewhere", "message"}, "relay": "https://node-b.example" }
 * (the SDK posts the offer there); 503 node_draining, store_unavailable.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ERROR_CODES, RelayError } from '../../errors.js';
import { sendJson } from '../../host/http-router.js';
import { readBody } from '../../host/request-body.js';
import { checkOffer, parseOffer, type OfferReason } from '../codec/sdp-offer.js';

export const ROOM_ROUTE = /^\/v1\/rtc\/rooms\/([^/]+)$/;
export const SESSION_ROUTE = /^\/v1\/rtc\/sessions\/([^/]+)$/;
export const SESSION_PATH_PREFIX = '/v1/rtc/sessions/';

export const RTC_PROFILES = ['audio', 'audio-room', 'video'] as const;
export type RtcProfile = (typeof RTC_PROFILES)[number];

const ROOM_ID = /^[A-Za-z0-9_-]{43}$/;

export interface OfferRequest {
  readonly room: string;
  readonly profile: RtcProfile;
  readonly offer: string;
  readonly slots: { audio: string[]; video: string[] };
}

export interface RouteDeps {
  readonly maxOfferBytes: number;
  readonly maxSlots: number;
  /** Seconds until this request's client may join again; 0 admits it (and spends a token). */
  readonly joinWait: (req: IncomingMessage) => number;
  /** Admits and answers (the session id and the answer), or names the node holding the room (cluster mode); throws RelayError. */
  readonly open: (req: IncomingMessage, offer: OfferRequest) => Promise<{ session: string; answer: string } | { elsewhere: string }>;
  /** Frees a session; false when there is none by that id. */
  readonly close: (session: string) => Promise<boolean>;
  readonly onResult: (result: string) => void;
  readonly onOfferRefused: (reason: OfferReason) => void;
}

export function offerHandler(deps: RouteDeps) {
  return async (req: IncomingMessage, res: ServerResponse, params: readonly string[]): Promise<void> => {
    try {
      const waitSec = deps.joinWait(req);
      if (waitSec > 0) throw new RelayError('rate_limited', 'too many WebRTC joins from this address', { retryAfterSec: Math.ceil(waitSec) });
      if (!isSdp(req.headers['content-type'])) throw new RelayError('unsupported_media_type', 'an offer is sent as application/sdp');
      const room = params[0]!;
      // Canonical only: one room id, one string (the cell bridge and the cluster placement use the bytes, the edge's router the string).
      if (!ROOM_ID.test(room) || Buffer.from(room, 'base64url').toString('base64url') !== room) throw new RelayError('bad_request', 'room must be 32 bytes in base64url');
      const profile = new URL(req.url ?? '/', 'http://x').searchParams.get('profile') ?? 'audio';
      if (!(RTC_PROFILES as readonly string[]).includes(profile)) throw new RelayError('unknown_profile', 'profile must be audio, audio-room or video');
      const body = await readBody(req, deps.maxOfferBytes, () => new RelayError('size_not_allowed', `an offer is at most ${deps.maxOfferBytes} bytes`));
      const offer = body.toString('utf8');
      const parsed = parseOffer(offer);
      const checked = typeof parsed === 'string' ? parsed : checkOffer(parsed, profile === 'video', deps.maxSlots);
      if (typeof checked === 'string') {
        deps.onOfferRefused(checked);
        throw new RelayError('bad_sdp', offerMessage(checked));
      }
      const opened = await deps.open(req, { room, profile: profile as RtcProfile, offer, slots: checked });
      if ('elsewhere' in opened) {
        sendJson(res, ERROR_CODES.room_elsewhere, { error: { code: 'room_elsewhere', message: 'the room lives on another node: send the offer there' }, relay: opened.elsewhere });
        deps.onResult('room_elsewhere');
        return;
      }
      const { session, answer } = opened;
      const text = Buffer.from(answer, 'utf8');
      res.writeHead(201, { 'content-type': 'application/sdp', 'content-length': text.length, location: SESSION_PATH_PREFIX + session });
      res.end(text);
      deps.onResult('ok');
    } catch (err) {
      deps.onResult(err instanceof RelayError ? err.code : 'internal');
      throw err;
    }
  };
}

export function deleteHandler(deps: RouteDeps) {
  return async (_req: IncomingMessage, res: ServerResponse, params: readonly string[]): Promise<void> => {
    if (!(await deps.close(params[0]!))) throw new RelayError('not_found', 'no such WebRTC session');
    res.writeHead(204).end();
  };
}

function isSdp(contentType: string | undefined): boolean {
  return contentType !== undefined && contentType.split(';')[0]!.trim().toLowerCase() === 'application/sdp';
}

function offerMessage(reason: OfferReason): string {
  switch (reason) {
    case 'no_bundle':
      return 'the offer must bundle every m-line (a=group:BUNDLE)';
    case 'no_rtcp_mux':
      return 'every RTP m-line must have a=rtcp-mux';
    case 'no_codec':
      return 'audio must offer opus/48000 and video vp8/90000';
    case 'too_many_m_lines':
      return 'the offer has more receive slots than the relay allows';
    case 'bad_layout':
      return 'm-lines must be: uplink(s) sendonly, receive slots recvonly, one data channel';
    default:
      return 'the offer is not valid SDP';
  }
}
