/**
 * Cluster mode, client side (README "Rooms in a cluster"): a node that does not hold a room answers
 * a join (a cell join, `POST /v1/media/join`, or a WebRTC offer, `POST /v1/rtc/rooms/{room}`) with
 * 409 `room_elsewhere` and the holder's base URL in `relay`; the same request goes there, at most
 * `maxRedirects` times in a row (a redirect loop ends with the last `room_elsewhere`). With several
 * relay URLs, one without an answer (`network`) or that cannot place the room now
 * (`store_unavailable`, `node_draining`, `too_many_sessions`, `shutting_down`) hands over to the
 * next; any other refusal (`room_full`, ...) ends the join. Shared by join-request.ts (CallClient)
 * and the WebRTC side (RtcCall, the load kit's werift client).
 */
import { XrelayClientError, errorFromResponse } from './client-error.js';

/** Redirects (409 room_elsewhere) followed in a row by default. */
export const DEFAULT_MAX_JOIN_REDIRECTS = 3;
/** Codes after which the next relay URL of the list is tried. */
const NEXT_RELAY = new Set(['network', 'store_unavailable', 'node_draining', 'too_many_sessions', 'shutting_down']);

/** Runs `attempt` on each relay URL in order until one succeeds or refuses for good (see the header). */
export async function throughRelays<T>(relays: string | readonly string[], attempt: (relay: string) => Promise<T>): Promise<T> {
  const list = typeof relays === 'string' ? [relays] : relays;
  if (list.length === 0) throw new XrelayClientError('network', 'no relay URL given');
  let last: XrelayClientError | undefined;
  for (const relay of list) {
    try {
      return await attempt(relay);
    } catch (err) {
      if (!(err instanceof XrelayClientError) || !NEXT_RELAY.has(err.code)) throw err;
      last = err;
    }
  }
  throw last!;
}

/**
 * Sends `send(relay)` to `first`, then to each node a 409 room_elsewhere names (at most
 * `maxRedirects` times). Returns the first answer that is not a redirect and the node that gave it;
 * a 409 that ends the chain (another code, or one redirect too many) is thrown as its client error.
 */
export async function followRoomElsewhere(first: string, maxRedirects: number, send: (relay: string) => Promise<Response>, what: string): Promise<{ res: Response; relay: string }> {
  let relay = first;
  for (let hops = 0; ; hops++) {
    const res = await send(relay);
    if (res.status !== 409) return { res, relay };
    const text = await res.text().catch(() => '');
    const next = roomElsewhereOf(text);
    if (next !== undefined && hops < maxRedirects) {
      relay = next;
      continue;
    }
    throw await errorFromResponse(new Response(text, { status: 409, headers: res.headers }), what);
  }
}

/** The base URL of a 409 room_elsewhere body (http or https only); undefined for any other 409 (room_full, ...). */
export function roomElsewhereOf(text: string): string | undefined {
  let parsed: { error?: { code?: unknown }; relay?: unknown };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    return undefined;
  }
  if (parsed?.error?.code !== 'room_elsewhere' || typeof parsed.relay !== 'string') return undefined;
  try {
    const u = new URL(parsed.relay);
    return u.protocol === 'http:' || u.protocol === 'https:' ? parsed.relay : undefined;
  } catch {
    return undefined;
  }
}
