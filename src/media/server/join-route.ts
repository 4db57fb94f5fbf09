/**
 * POST /v1/media/join (docs/PROTOCOL.md §1). Body JSON:
 *   { "room": base64url(32 bytes), "publicKey": base64url(32 bytes), "profile": "audio" }
 * Answer 200:
 *   { "session", "slot", "epoch", "serverPublicKey", "udp": {"host","port"}, "ws": "/v1/media/cells",
 *     "profile": {"name","tickMs","upBytes","downBytes"} }
 * Errors (JSON, stable codes): bad_join, unknown_profile, room_full, profile_mismatch, too_many_sessions,
 * rate_limited (429 with Retry-After: joins per client address, checked before any key work).
 * Cluster mode: 409 room_elsewhere when another node holds the room, with that node's base URL
 *   { "error": {"code": "room_elsewhere", "message"}, "relay": "https://node-b.example" }
 * (the SDK joins there; why not a 307: README "Running a cluster"); 503 node_draining, store_unavailable.
 *
 * The relay draws a fresh X25519 key pair per join, derives the hop keys (crypto_kx, server side)
 * and forgets its private key at once: it never stores anything to re-derive them.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ERROR_CODES, RelayError } from '../../errors.js';
import { sendJson } from '../../host/http-router.js';
import { readBody as readBounded } from '../../host/request-body.js';
import type { JoinError, JoinResult } from '../core/media-core.js';
import type { JoinRoute } from '../core/room-placement.js';
import { generateHopKeyPair, serverSessionKeys } from '../crypto/hop-keys.js';

export const JOIN_PATH = '/v1/media/join';
export const CELLS_WS_PATH = '/v1/media/cells';

export interface JoinDeps {
  /** Admits a session on the data plane (which reads its own clock). */
  readonly join: (room: Uint8Array, profile: string, rx: Uint8Array, tx: Uint8Array) => JoinResult | JoinError;
  readonly maxBodyBytes: number;
  /** Seconds until this request's client may join again; 0 admits it (and spends a token). */
  readonly joinWait: (req: IncomingMessage) => number;
  readonly udp: () => { host: string; port: number };
  readonly onJoined: (j: JoinResult, room: Uint8Array) => void;
  readonly onRefused: (code: string) => void;
  /**
   * Takes one of this request's client address's session slots (media.maxSessionsPerAddress):
   * `bind` ties it to the session (released when the session closes), `release` gives it back
   * (the join failed); undefined when the address holds all of its slots.
   */
  readonly sessionSlot: (req: IncomingMessage) => { bind(index: number): void; release(): void } | undefined;
  /** Cluster mode: which node serves the room (absent: this one, always). */
  readonly route?: (room: Uint8Array) => Promise<JoinRoute>;
}

/** At most `max` bytes (declared or chunked); the router drops the rest of a refused body, bounded. */
function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  // A client gone mid-body is a refusal of the client's making: bad_join (counted), like any bad join.
  return readBounded(req, max, () => new RelayError('bad_join', `join body larger than ${max} bytes`)).catch((err: unknown) => {
    throw err instanceof RelayError && err.code === 'bad_request' ? new RelayError('bad_join', 'join body incomplete') : err;
  });
}

function key32(v: unknown, name: string): Buffer {
  if (typeof v !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(v)) throw new RelayError('bad_join', `${name} must be 32 bytes in base64url`);
  return Buffer.from(v, 'base64url');
}

export function joinHandler(deps: JoinDeps) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      const waitSec = deps.joinWait(req);
      if (waitSec > 0) {
        req.resume();
        throw new RelayError('rate_limited', 'too many joins from this address', { retryAfterSec: Math.ceil(waitSec) });
      }
      const raw = await readBody(req, deps.maxBodyBytes);
      let body: { room?: unknown; publicKey?: unknown; profile?: unknown };
      try {
        body = JSON.parse(raw.toString('utf8')) as typeof body;
      } catch {
        throw new RelayError('bad_join', 'join body is not JSON');
      }
      if (body === null || typeof body !== 'object') throw new RelayError('bad_join', 'join body must be an object');
      const room = key32(body.room, 'room');
      const clientPk = key32(body.publicKey, 'publicKey');
      if (typeof body.profile !== 'string') throw new RelayError('bad_join', 'profile must be a string');
      const where = deps.route === undefined ? undefined : await deps.route(room);
      if (where?.kind === 'redirect') {
        sendJson(res, ERROR_CODES.room_elsewhere, { error: { code: 'room_elsewhere', message: 'the room lives on another node: join there' }, relay: where.url });
        return;
      }
      const slot = deps.sessionSlot(req);
      if (slot === undefined) throw new RelayError('rate_limited', 'this address holds as many media sessions as it may (media.maxSessionsPerAddress)', { retryAfterSec: 1 });
      const admitted = admit(deps, room, body.profile, clientPk);
      if (typeof admitted === 'string') {
        slot.release();
        throw new RelayError(admitted, joinMessage(admitted));
      }
      const { joined: j, serverPublicKey } = admitted;
      slot.bind(j.index);
      deps.onJoined(j, room);
      const p = j.profile;
      sendJson(res, 200, {
        session: j.session,
        slot: j.slot,
        epoch: j.epoch,
        serverPublicKey: serverPublicKey.toString('base64url'),
        udp: deps.udp(),
        ws: CELLS_WS_PATH,
        profile: { name: p.name, tickMs: p.tickMs, upBytes: p.upBytes, downBytes: p.downBytes },
      });
    } catch (err) {
      if (err instanceof RelayError) deps.onRefused(err.code);
      throw err;
    }
  };
}

/** Key agreement and the data plane's admission; a join error code, or the session. */
function admit(deps: JoinDeps, room: Uint8Array, profile: string, clientPk: Buffer): { joined: JoinResult; serverPublicKey: Buffer } | JoinError | 'bad_join' {
  const server = generateHopKeyPair();
  const keys = serverSessionKeys(server, clientPk);
  if (keys === undefined) return 'bad_join';
  const j = deps.join(room, profile, keys.rx, keys.tx);
  keys.rx.fill(0);
  keys.tx.fill(0);
  return typeof j === 'string' ? j : { joined: j, serverPublicKey: server.publicKey };
}

function joinMessage(code: string): string {
  switch (code) {
    case 'room_full':
      return 'the room is at its size cap';
    case 'profile_mismatch':
      return 'the room uses another profile';
    case 'unknown_profile':
      return 'no such profile on this relay';
    case 'bad_join':
      return 'publicKey is not a usable X25519 key';
    default:
      return 'the relay has no room for another session';
  }
}
