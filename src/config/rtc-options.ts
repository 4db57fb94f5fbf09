/** The `rtc` section: the WebRTC edge (docs/RTC.md): browsers and WebRTC stacks join rooms with an SDP offer. */
import { field } from './fields.js';

export const rtcOptions = {
  enabled: field.bool('Serve the WebRTC edge (`POST /v1/rtc/rooms/{room}`). At idle it costs one HTTP route and one UDP socket (`rtc.port`).', true),
  advertisedHost: field.string('IPv4 address put in the ICE candidate of every answer (what browsers send to); empty means `media.advertisedHost` when that is an IPv4 address, else the `host` the relay listens on (then it must not be a wildcard).', ''),
  port: field.int('The one UDP port of the WebRTC edge: every session\'s ICE, DTLS and SRTP use it (the answer\'s host candidate names it), demultiplexed by ICE ufrag and then by 5-tuple (docs/RTC.md, "Transport and ports"). Open it in the firewall. 0 picks a free port at start (tests).', 40_000, { min: 0, max: 65_535 }),
  roomCap: field.int('Most members of one WebRTC room; joins past it get 409 `room_full`.', 8, { min: 2, max: 64 }),
  receiveSlots: field.int('Most receive slots per kind an offer may carry (the contract: room cap - 1); an offer with more is `bad_sdp`. Capped at `roomCap` - 1. A receiver with fewer slots than peers gets the first ones; a freed slot is refilled.', 7, { min: 1, max: 63 }),
  maxSessions: field.int('Most live WebRTC sessions on this relay; joins past it get 503 `too_many_sessions`.', 500, { min: 1, max: 65_535 }),
  maxSessionsPerAddress: field.int('Most live WebRTC sessions one client address (IPv6: per /64) may hold; more joins get 429 `rate_limited` until one closes.', 16, { min: 1, max: 65_535 }),
  joinRatePerSec: field.number('Sustained WebRTC joins per second allowed per client address (token bucket; 429 `rate_limited` past it). Each join costs a DTLS certificate check and a socket.', 2, { min: 0.001 }),
  joinBurst: field.int('Burst of WebRTC joins allowed per client address above the sustained rate.', 20, { min: 1 }),
  maxOfferBytes: field.int('Largest SDP offer accepted (413 `size_not_allowed` past it).', 65_536, { min: 1024, max: 262_144 }),
  connectTimeoutMs: field.int('A session whose ICE and DTLS have not completed this long after its answer is closed (and leaves the UDP port\'s table).', 10_000, { min: 500, max: 120_000 }),
  idleTimeoutMs: field.int('A connected session whose uplink sends no RTP for this long (browsers send audio continuously: DTX is off) is closed.', 30_000, { min: 1000, max: 600_000 }),
  videoMaxKbps: field.int('The bitrate the edge tells each video uplink it may send (REMB, twice a second); browsers send less when their loss-based estimate is lower.', 1500, { min: 50, max: 50_000 }),
  keyframeMinIntervalMs: field.int('At most one key-frame request (PLI) forwarded to a sender per this interval, whatever its receivers ask; a receiver given a new video slot always gets one.', 500, { min: 0, max: 10_000 }),
  audioPadding: field.bool('Keep every audio receive slot of every WebRTC receiver at one packet per 20 ms of one size (docs/RTC.md, "Downlink padding"): forwarded packets get RTP padding up to `audioPadBytes`, and a slot whose member is quiet, absent or stalled gets padding-only RTP packets (RFC 3550 §5.1) the browser discards. Costs each receiver 70.8 kbit/s on the wire per audio slot it offered, speaking or not (a slot whose member sends anyway: +0.4 kbit/s).', true),
  audioPadBytes: field.int('The payload + RTP padding size of every downlink audio packet: one more than the SDK\'s sealed audio frame (80-byte Opus frame + 34-byte SFrame overhead = 114), so every forwarded frame carries RTP padding and the P bit, which SRTP leaves in clear, is set on every packet as on padding-only ones. A forwarded payload at or above it is sent as it is (no P bit; counted above it: `xrelay_rtc_pad_oversize_total`).', 115, { min: 16, max: 255 }),
} as const;
