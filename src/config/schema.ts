/**
 * The relay's one config schema. Sources, lowest precedence first: built-in defaults, the JSON
 * config file (`--config FILE`), `XRELAY_*` environment variables, command-line flags.
 */
import { clusterOptions } from './cluster-options.js';
import { field, type SchemaValues } from './fields.js';
import { httpOptions } from './http-options.js';
import { mediaOptions } from './media-options.js';
import { rtcOptions } from './rtc-options.js';
import { storeOptions } from './store-options.js';
import { turnOptions } from './turn-options.js';

const DAY_SEC = 86_400;

export const envelopeOptions = {
  sizeBuckets: field.intList('Allowed envelope body sizes in bytes; a body must be exactly one of them.', [256, 1024, 4096, 16384, 65536], { min: 1, max: 1_048_576 }),
  ttlSec: field.int('Seconds an unacknowledged envelope is kept before it expires and is deleted.', 7 * DAY_SEC, { min: 1 }),
  sweepIntervalSec: field.int('Seconds between sweeps that delete expired envelopes.', 60, { min: 1 }),
  mailboxMaxCount: field.int('Most envelopes one mailbox may hold (507 mailbox_full past it).', 10_000, { min: 1 }),
  mailboxMaxBytes: field.int('Most envelope bytes one mailbox may hold (507 mailbox_full past it).', 64 * 1024 * 1024, { min: 1 }),
  storeMaxBytes: field.int('Global cap on stored envelope bytes across all mailboxes (507 mailbox_full past it).', 8 * 1024 * 1024 * 1024, { min: 1 }),
  postRatePerSec: field.number('Sustained envelope posts per second allowed per client address (token bucket; 429 rate_limited past it).', 200, { min: 0.001 }),
  postBurst: field.int('Burst of envelope posts allowed per client address above the sustained rate.', 2000, { min: 1 }),
  authTimeoutSec: field.int('Seconds a mailbox reader has to answer the challenge before the socket is closed.', 10, { min: 1 }),
  authRatePerSec: field.number('Sustained mailbox authentications per second allowed per client address (IPv6 per /64); past it the reader is closed with 4429 rate_limited before its key is checked. Each check costs ~2 ms of CPU (strict Ed25519 key checks), so this bounds what one address can make the relay spend.', 50, { min: 0.001 }),
  authBurst: field.int('Burst of mailbox authentications allowed per client address above the sustained rate.', 500, { min: 1 }),
  maxInflightPerReader: field.int('Most unacknowledged envelopes sent to one reader before the relay waits for acks.', 256, { min: 1 }),
  maxInflightBytesPerReader: field.int('Most unacknowledged envelope bytes sent to one reader before the relay waits for acks (one envelope is always allowed, whatever its size).', 1024 * 1024, { min: 1 }),
  maxReadersPerMailbox: field.int('Most authenticated readers of one mailbox at once; a new reader past it replaces the oldest, which is closed with 4409 reader_replaced.', 4, { min: 1 }),
  maxSocketsPerAddress: field.int('Most open `/v1/post` and `/v1/mailbox` sockets (together, authenticated or not) per client address (IPv6 by /64); past it a new socket is closed with 4429 too_many_sockets.', 256, { min: 1 }),
  maxPostsInProgressPerAddress: field.int('Most HTTP envelope posts one client address may have in progress (body being received or stored) at once; past it 429 rate_limited. Each holds up to the largest size bucket in memory.', 256, { min: 1 }),
  socketMaxBufferedBytes: field.int('A post socket stops reading frames, and a reader socket stops sending envelopes, while its send buffer holds more than this many bytes.', 256 * 1024, { min: 1024 }),
  socketStallTimeoutSec: field.int('A post or reader socket whose send buffer stays above socketMaxBufferedBytes this long (a client that does not read), or a reader that acknowledges none of the envelopes it was sent this long, is closed with 4408 slow_consumer.', 30, { min: 1 }),
  postMaxInflightPerSocket: field.int('Most posts of one `/v1/post` socket being stored at once; the socket stops reading frames until one is answered.', 32, { min: 1 }),
  postIdleTimeoutSec: field.int('A `/v1/post` socket that sends no frame (ping included) for this long is closed with 4408 idle_timeout.', 120, { min: 1 }),
  wakeWindowSec: field.int('At most one push wake per mailbox per this many seconds.', 30, { min: 0 }),
  wakeRetries: field.int('Retries of a failed push wake, with exponential backoff from wakeRetryBaseMs.', 4, { min: 0, max: 20 }),
  wakeRetryBaseMs: field.int('Delay before the first retry of a failed push wake; doubles on each retry.', 1000, { min: 1 }),
  wakeMaxPending: field.int('Most push wakes in progress at once (a request out or a retry waiting); past it new wakes are dropped and counted (xrelay_wakes_total{result="dropped"}).', 1024, { min: 1 }),
  pushMaxTargets: field.int('Most push targets the relay keeps (one per mailbox; an app re-registering its own mailbox always succeeds). Past it, a registration for another mailbox is refused 507 push_targets_full until targets expire (pushTargetTtlSec): mailbox keys cost nothing to make, so without a cap registrations could fill the disk.', 1_000_000, { min: 1 }),
  pushTargetTtlSec: field.int('Seconds a registered push target is kept after its last registration (apps re-register as they reconnect); then it is deleted, so targets registered for throwaway keys do not pile up on disk.', 30 * DAY_SEC, { min: 60 }),
  webhookUrl: field.string('URL the `webhook` push provider POSTs wakes to; empty disables the provider.', ''),
} as const;

export const relaySchema = {
  host: field.string('Address the HTTP/WebSocket server listens on.', '127.0.0.1'),
  httpPort: field.int('HTTP/WebSocket port (0 picks a free port).', 7800, { min: 0, max: 65535 }),
  dataDir: field.string('Directory of the embedded durable store.', './data'),
  tlsCert: field.string('PEM certificate file; with tlsKey, serve HTTPS/WSS directly.', ''),
  tlsKey: field.string('PEM private key file for tlsCert.', '', { secret: true }),
  logLevel: field.enum('Log level.', 'info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  logPosture: field.enum('`private` hashes identifiers and hides addresses in logs; `debug` logs them in clear (opt-in).', 'private', ['private', 'debug']),
  logFormat: field.enum('Log line format: `json` (one JSON object a line, for collectors), `pretty` (time, level name, message, key=value: for people), or `auto`: pretty when stdout is a terminal, JSON otherwise. Both carry the same fields, redacted the same way.', 'auto', ['auto', 'json', 'pretty']),
  trustProxy: field.stringList('Reverse proxies (IP or CIDR) whose X-Forwarded-For names the client for rate limits; empty: the socket peer is the client.', []),
  metricsAllow: field.stringList('Client addresses (IP or CIDR) allowed to read /metrics; others get 403 forbidden. Behind a reverse proxy the client is found through trustProxy.', ['127.0.0.0/8', '::1']),
  corsOrigins: field.stringList('Web origins (scheme://host[:port]) whose pages may call the relay from a browser: CORS headers for them, and their WebSocket upgrades and POSTs accepted. Any other Origin is refused 403 forbidden, including one whose host equals the Host header (no same-origin exception: the relay serves no page, and DNS rebinding would pass it); requests without Origin, i.e. not from a browser, are not affected. Empty: no browser access.', []),
  shutdownGraceSec: field.int('Seconds graceful shutdown waits for in-flight work before closing anyway.', 10, { min: 0 }),
  ...storeOptions,
  http: httpOptions,
  envelope: envelopeOptions,
  turn: turnOptions,
  media: mediaOptions,
  cluster: clusterOptions,
  rtc: rtcOptions,
} as const;

export type RelayConfig = SchemaValues<typeof relaySchema>;
