/** The `media` section: sealed, padded cells for calls and rooms (docs/PROTOCOL.md). */
import { DEFAULT_PROFILES } from '../media/codec/profiles.js';
import { field } from './fields.js';

export const mediaOptions = {
  enabled: field.bool('Serve the media plane (rooms and cells).', true),
  dataPlane: field.enum(
    'Who carries cells: `native` (the N-API addon: its own thread, recvmmsg/sendmmsg, OpenSSL), `typescript` (node:dgram), or `auto` (native when the addon loads). The environment variable XRELAY_NATIVE=0|1 overrides it.',
    'auto',
    ['auto', 'native', 'typescript'] as const,
  ),
  udpPort: field.int('UDP port for cells (0 picks a free port).', 7801, { min: 0, max: 65535 }),
  advertisedHost: field.string('UDP host the join answer tells clients to send cells to; empty means the `host` the relay listens on.', ''),
  profiles: field.stringList(
    'Cadence profiles as `name:tickMs:upBodyBytes:downBodyBytes`: each session sends and receives exactly one cell per tick, of one fixed size per direction (body 64..1400 bytes; wire = body + 28).',
    DEFAULT_PROFILES,
  ),
  roomCap: field.int('Most sessions in one room; joins past it get `room_full`.', 50, { min: 2, max: 500 }),
  maxSessions: field.int('Most live media sessions on this relay; joins past it get `too_many_sessions`.', 10_000, { min: 1, max: 65_535 }),
  maxSessionsPerAddress: field.int('Most live media sessions one client address (IPv6: per /64) may hold; more joins get 429 `rate_limited` until one closes. Bounds what one address can take of `maxSessions`.', 500, { min: 1, max: 65_535 }),
  queueRecords: field.int('Records queued per receiver before the oldest is dropped (drop policy: oldest media first).', 16, { min: 1, max: 1024 }),
  queueMaxAgeMs: field.int('Records older than this when their receiver\'s next cell is built are dropped as stale.', 200, { min: 1, max: 10_000 }),
  idleTimeoutMs: field.int('A session with no valid cell for this long is closed (clients send one per tick, so this is many ticks).', 10_000, { min: 100, max: 600_000 }),
  wsMaxBufferedBytes: field.int('Cells for a WebSocket session are dropped (and counted) while its send buffer holds more than this.', 262_144, { min: 1024 }),
  floodGuard: field.bool(
    'TypeScript data plane: before the AEAD open, a cell that is not from its session\'s proven path (the address of its last authenticated cell) spends a token of its source address and one of its session (`unverifiedOpensPerSource`, `unverifiedOpensPerSession`), else it is dropped as `throttled`. Keeps a bad-tag flood from costing an open each. The native plane opens every cell (it is fast enough).',
    true,
  ),
  unverifiedOpensPerSource: field.number('Flood guard: AEAD opens per second (and burst) for cells off their session\'s proven path, per source address (a client\'s first cell and a roam each need one; the default matches `joinBurst`, so clients that joined together behind one address all get theirs through at once).', 200, { min: 1 }),
  unverifiedOpensPerSession: field.number('Flood guard: AEAD opens per second (and burst) for cells off the session\'s proven path, per session, all sources together (above the per-source rate, so one source cannot use up a session\'s).', 400, { min: 1 }),
  udpRecvBufferBytes: field.int('TypeScript data plane: SO_RCVBUF asked for on the cell socket, to ride out bursts while the event loop is busy (the kernel caps it at net.core.rmem_max; the native plane asks 4 MiB).', 4_194_304, { min: 4096, max: 268_435_456 }),
  connectedPaths: field.int(
    'TypeScript data plane: most connected UDP sockets kept for proven client paths (one per client address:port in use), so that a call\'s datagrams wait in their own kernel queue, not behind a flood in the shared one; 0 (default) turns them off. Off by default because it needs SO_REUSEADDR on the cell port, and Linux then lets any local user bind that port too and take its datagrams: turn it on (e.g. 10000) only where no untrusted local user shares the host or network namespace.',
    0,
    { min: 0, max: 65_535 },
  ),
  wsMaxPerAddress: field.int('Most `/v1/media/cells` WebSockets open at once per client address (IPv6: per /64); more are closed with 4429 `rate_limited`. Each socket with no accepted cell for `idleTimeoutMs` is closed with 4408 `idle_timeout`.', 64, { min: 1 }),
  joinRatePerSec: field.number('Sustained media joins per second allowed per client address (token bucket; 429 rate_limited past it).', 10, { min: 0.001 }),
  joinBurst: field.int('Burst of media joins allowed per client address above the sustained rate.', 200, { min: 1 }),
  joinMaxBodyBytes: field.int('Largest join request body accepted.', 4096, { min: 256, max: 65_536 }),
} as const;
