/**
 * The sans-IO contract of the TURN core: what it is told (client and peer bytes with the time) and
 * what it asks its host to do (`TurnIo`). The core never reads a clock or touches a socket; tests
 * drive it with plain numbers and a recording `TurnIo`.
 */
import type { Allocation } from './allocation.js';

/** A client 5-tuple as the core sees it. `conn` is the host's handle (its TCP socket); opaque here. */
export interface ClientRef {
  readonly transport: 'udp' | 'tcp';
  readonly ip: string;
  readonly port: number;
  /** Unique per 5-tuple: `ip:port` for UDP, the host's connection key for TCP. */
  readonly key: string;
  readonly conn: unknown;
}

export type AllocationEvent = 'open' | 'close';
export type CloseReason = 'expired' | 'refresh' | 'client_gone' | 'relay_failed' | 'shutdown';

export interface TurnIo {
  /** Send a STUN message or ChannelData to a client (TCP hosts frame nothing further). */
  sendToClient(client: ClientRef, data: Buffer): void;
  /** Send a datagram from the allocation's relay socket to a peer. */
  sendToPeer(alloc: Allocation, ip: string, port: number, data: Buffer): void;
  /**
   * Bind a relay socket for `alloc` (an even port when asked), then call `core.relayOpened` or
   * `core.relayFailed`. May complete synchronously or later.
   */
  openRelay(alloc: Allocation, evenPort: boolean): void;
  /** Release the allocation's relay socket (idempotent). */
  closeRelay(alloc: Allocation): void;
  /**
   * The allocation's permissions or channels changed (CreatePermission, ChannelBind): a host whose
   * data path runs outside the core (the native one) pushes the new forwarding state. Expired entries
   * need no call: the data path compares their expiry times with the packet's time itself.
   */
  forwardingChanged?(alloc: Allocation): void;
  /** Lifecycle notice for logs; never called per packet. */
  onAllocation?(event: AllocationEvent, alloc: Allocation, reason?: CloseReason): void;
}

/** Plain counters the host exports as metrics (labels are these closed key sets). */
export interface TurnStats {
  requests: Record<'binding' | 'allocate' | 'refresh' | 'create_permission' | 'channel_bind' | 'other', number>;
  errors: Record<string, number>;
  dropped: Record<
    | 'malformed'
    | 'not_stun'
    | 'no_allocation'
    | 'no_permission'
    | 'no_channel'
    | 'rate_limited'
    | 'bad_fingerprint'
    | 'unexpected_class'
    | 'bad_send'
    /** Native data path only: datagrams for the TS core dropped because the JS thread fell behind. */
    | 'backlog'
    /** Input on which the core threw (a bug): the host caught it, dropped the input and logged it. */
    | 'internal_error',
    number
  >;
  relayedPackets: { toPeer: number; toClient: number };
  relayedBytes: { toPeer: number; toClient: number };
}

export function createTurnStats(): TurnStats {
  return {
    requests: { binding: 0, allocate: 0, refresh: 0, create_permission: 0, channel_bind: 0, other: 0 },
    errors: {},
    dropped: {
      malformed: 0,
      not_stun: 0,
      no_allocation: 0,
      no_permission: 0,
      no_channel: 0,
      rate_limited: 0,
      bad_fingerprint: 0,
      unexpected_class: 0,
      bad_send: 0,
      backlog: 0,
      internal_error: 0,
    },
    relayedPackets: { toPeer: 0, toClient: 0 },
    relayedBytes: { toPeer: 0, toClient: 0 },
  };
}
