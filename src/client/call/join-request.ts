/**
 * The join exchange (docs/PROTOCOL.md §1), portable: `POST <relay>/v1/media/join` with the room id
 * (a hash of the call secret) and a fresh X25519 public key; the answer names the session, slot,
 * epoch, the relay's ephemeral public key, and where to send cells. Failures are XrelayClientErrors:
 * the relay's code, `network` without an answer, `internal` for an answer that is not a join answer.
 */
import { decodeBase64url, encodeBase64url } from '../../wire/b64url.js';
import { XrelayClientError, errorFromResponse, fetchRelay } from '../client-error.js';
import { relayHttpUrl } from '../relay-url.js';

export interface JoinAnswer {
  session: number;
  slot: number;
  epoch: number;
  serverPublicKey: string;
  udp: { host: string; port: number };
  ws: string;
  profile: { name: string; tickMs: number; upBytes: number; downBytes: number };
}

export async function requestJoin(relay: string, roomId: Uint8Array, publicKey: Uint8Array, profile: string): Promise<{ answer: JoinAnswer; serverPublicKey: Uint8Array }> {
  const res = await fetchRelay(
    relayHttpUrl(relay, 'v1/media/join'),
    { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ room: encodeBase64url(roomId), publicKey: encodeBase64url(publicKey), profile }) },
    'join',
  );
  if (!res.ok) throw await errorFromResponse(res, 'join refused');
  const answer = (await res.json().catch(() => ({}))) as JoinAnswer;
  const serverPublicKey = decodeBase64url(String(answer.serverPublicKey));
  const p = answer.profile as Partial<JoinAnswer['profile']> | undefined;
  if (serverPublicKey?.length !== 32 || typeof answer.session !== 'number' || typeof answer.ws !== 'string' || typeof p?.tickMs !== 'number' || typeof p.upBytes !== 'number' || typeof p.downBytes !== 'number') {
    throw new XrelayClientError('internal', 'the answer is not a relay join answer', { status: res.status });
  }
  return { answer, serverPublicKey };
}
