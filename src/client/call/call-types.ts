/** The public shapes of a call: its options, frames, counters and events (call-core.ts). */
import type { Roster } from '../../wire/control-records.js';
import type { E2ePaddingStatus } from './e2e-padding-gate.js';

export interface CallOptions {
  /**
   * Base URL of the relay's HTTP port, e.g. http://127.0.0.1:7800 or https://host/prefix/ (the prefix
   * is kept); or, for a cluster, several (tried in order: one without an answer hands over to the
   * next). A node that does not hold the room names the one that does (409 room_elsewhere): followed.
   */
  relay: string | readonly string[];
  /** Cluster: 409 room_elsewhere redirects followed in a row per relay URL (default 3). */
  maxRedirects?: number;
  /**
   * Rejoin by itself (through `relay`, from the start of the list) after this long without a valid
   * downlink cell on any transport: the node died or was cut off. Default max(20 ticks, 2000 ms),
   * above the UDP failover window; 0: never (the call just goes silent).
   */
  rejoinSilenceMs?: number;
  /** Give up rejoining after this long (event `closed`, reason `rejoin_failed`); default 60 000 ms. */
  rejoinTimeoutMs?: number;
  /** The call's shared secret (from envelopes; at least 16 random bytes, `bad_secret` otherwise); never sent anywhere. */
  callSecret: Uint8Array;
  profile?: string;
  /**
   * 'auto' (default): UDP, then WebSocket if no cell comes back within udpTimeoutMs, or if cells
   * stop coming for failoverSilenceMs mid-call; where there is no UDP (browsers), the WebSocket.
   * 'udp' and 'ws' never switch ('udp' in a browser: `unsupported`).
   */
  transport?: 'auto' | 'udp' | 'ws';
  udpTimeoutMs?: number;
  /** 'auto' on UDP: move to the WebSocket after this long without a valid cell; default max(10 ticks, 300 ms); 0: never. */
  failoverSilenceMs?: number;
  /**
   * Send a sealed dummy record at every tick without media (hides speech from the relay too).
   * Suspended while the room has more members than the profile's downlink can pad for (the
   * `e2ePadding` event and `e2ePaddingStatus` say when and why); hop padding stays on.
   */
  e2ePadding?: boolean;
  /** Largest media packet; default: the most one uplink cell carries. Packets are padded to it. */
  packetBytes?: number;
  /** Packets waiting for a tick before the oldest is dropped. */
  sendQueue?: number;
  /** Send cells here instead of the UDP address the relay announced (tests: proxies, blocked UDP). */
  udpTarget?: { host: string; port: number };
}

export interface CallFrame {
  slot: number;
  data: Uint8Array;
  epoch: number;
  /**
   * The sender's record counter: one more per record it sends (media or dummy). It starts at a random
   * multiple of 2^20 (up to 2^52; docs/PROTOCOL.md §9), so use differences, not the value, as time.
   */
  ctr: number;
}

export interface CallStats {
  packetsSent: number;
  dummiesSent: number;
  packetsReceived: number;
  dummiesReceived: number;
  e2eRejected: number;
  sendQueueDrops: number;
  missedTicks: number;
  /** Ticks without media where e2e padding was requested but suspended (room too large). */
  dummiesWithheld: number;
  /** Times e2e padding went from on to off because the room outgrew the downlink. */
  e2ePaddingSuspensions: number;
  /** Mid-call moves from UDP to the WebSocket. */
  transportFailovers: number;
  /** Rejoins after a silent relay (each one a new session, possibly on another node). */
  rejoins: number;
}

/** Every counter at 0 (a new call; the load kit sums calls from it). */
export function emptyCallStats(): CallStats {
  return { packetsSent: 0, dummiesSent: 0, packetsReceived: 0, dummiesReceived: 0, e2eRejected: 0, sendQueueDrops: 0, missedTicks: 0, dummiesWithheld: 0, e2ePaddingSuspensions: 0, transportFailovers: 0, rejoins: 0 };
}

/** The relay went silent: the client rejoins (the `rejoined` event follows, or `closed`). */
export interface Reconnecting {
  /** How long the downlink had been silent when the rejoin began. */
  silentMs: number;
}

/** Back in the call after a silence: a new session, on `relay` (the node that admitted it). */
export interface Rejoined {
  relay: string;
  session: number;
  slot: number;
  silentMs: number;
  /** From the start of the rejoin to the new session's transport being up. */
  tookMs: number;
  /** Join attempts made (each through the relay list, redirects followed). */
  attempts: number;
}

/** The call ended by itself (not by leave() or close()). */
export interface CallClosed {
  reason: 'rejoin_failed';
  /** The last join failure's code. */
  code: string;
}

/** A mid-call change of transport (same session, hop keys and counters). */
export interface TransportChange {
  from: 'udp';
  to: 'ws';
  reason: 'udp_silent';
  /** How long the downlink had been silent when the switch was decided. */
  silentMs: number;
}

/** Events raised while join() runs (e.g. the first roster) are delivered right after it resolves. */
export interface CallEvents {
  frame: [CallFrame];
  roster: [Roster];
  transport: [TransportChange];
  e2ePadding: [E2ePaddingStatus];
  reconnecting: [Reconnecting];
  rejoined: [Rejoined];
  closed: [CallClosed];
}
