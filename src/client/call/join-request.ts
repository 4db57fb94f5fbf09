/**
 * The join exchange (docs/PROTOCOL.md §1), portable: `POST <relay>/v1/media/join` with the room id
 * (a hash of the call secret) and a fresh X25519 public key; the answer names the session, slot,
 * epoch, the relay's ephemeral public key, and where to send cells. Failures are XrelayClientErrors:
 * the relay's code, `network` without an answer, `internal` for an answer that is not a join answer.
 *
 * Cluster mode: a node that does not hold the room answers 409 `room_elsewhere` with the holder's
 * base URL (`relay` in the body); the join is sent there, at most `maxRedirects` times in a row (a
 * redirect loop ends with the last `room_elsewhere`). With several relay URLs, one without an answer
 * (`network`) or that cannot place the room now (`store_unavailable`, `node_draining`,
 * `too_many_sessions`) hands over to the next; any other refusal (`room_full`, ...) ends the join.
 * (room-redirect.ts: the same rules for the WebRTC edge's offers.)
 */
import { decodeBase64url, encodeBase64url } from '../../wire/b64url.js';
import { XrelayClientError, errorFromResponse, fetchRelay } from '../client-error.js';
import { relayHttpUrl } from '../relay-url.js';
import { DEFAULT_MAX_JOIN_REDIRECTS, followRoomElsewhere, throughRelays } from '../room-redirect.js';

export { DEFAULT_MAX_JOIN_REDIRECTS };

export interface JoinAnswer {
  session: number;
  slot: number;
  epoch: number;
  serverPublicKey: string;
  udp: { host: string; port: number };
  ws: string;
  profile: { name: string; tickMs: number; upBytes: number; downBytes: number };
}

/** A join with no answer by then counts as `network` (a node that stopped answering). */
const JOIN_TIMEOUT_MS = 10_000;

export interface JoinOutcome {
  answer: JoinAnswer;
  serverPublicKey: Uint8Array;
  /** Base URL of the node that admitted the join (where the cell WebSocket goes). */
  relay: string;
}

/** Joins through `relays` in order (see the header for redirects and hand-overs). */
export async function requestJoin(relays: string | readonly string[], roomId: Uint8Array, publicKey: Uint8Array, profile: string, maxRedirects = DEFAULT_MAX_JOIN_REDIRECTS): Promise<JoinOutcome> {
  const body = JSON.stringify({ room: encodeBase64url(roomId), publicKey: encodeBase64url(publicKey), profile });
  return throughRelays(relays, async (first) => {
    const send = (relay: string): Promise<Response> => fetchRelay(relayHttpUrl(relay, 'v1/media/join'), { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(JOIN_TIMEOUT_MS) }, 'join');
    const { res, relay } = await followRoomElsewhere(first, maxRedirects, send, 'join refused');
    if (!res.ok) throw await errorFromResponse(res, 'join refused');
    return { ...(await parseAnswer(res)), relay };
  });
}

async function parseAnswer(res: Response): Promise<{ answer: JoinAnswer; serverPublicKey: Uint8Array }> {
  const answer = (await res.json().catch(() => ({}))) as JoinAnswer;
  const serverPublicKey = decodeBase64url(String(answer.serverPublicKey));
  const p = answer.profile as Partial<JoinAnswer['profile']> | undefined;
  if (serverPublicKey?.length !== 32 || typeof answer.session !== 'number' || typeof answer.ws !== 'string' || typeof p?.tickMs !== 'number' || typeof p.upBytes !== 'number' || typeof p.downBytes !== 'number') {
    throw new XrelayClientError('internal', 'the answer is not a relay join answer', { status: res.status });
  }
  return { answer, serverPublicKey };
}
