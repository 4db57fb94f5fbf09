/**
 * Which envelope store the relay runs on: the embedded LMDB default, or Redis for cluster mode
 * (issue 13; README "Redis store"). A top-level `store` field and a `redis` section, so the flags
 * read `--store redis --redis-url URL` and the environment `XRELAY_STORE`, `XRELAY_REDIS_URL`.
 */
import { field } from './fields.js';

export const redisOptions = {
  url: field.string('Redis URL (`redis://host:port/db` or `rediss://` for TLS) of a single instance or of any node of a Redis Cluster; used when `store` is `redis`. Credentials in the URL are allowed but prefer `redis.password`.', 'redis://127.0.0.1:6379', { secret: true }),
  cluster: field.bool('Treat `redis.url` as a seed node of a Redis Cluster (slots discovered from it; MOVED/ASK followed).', false),
  username: field.string('Redis ACL user name (AUTH username password); empty uses the default user.', ''),
  password: field.string('Redis password (AUTH); empty sends none.', '', { secret: true }),
  tls: field.bool('Connect to Redis over TLS (also implied by a `rediss://` URL); the server certificate is verified against the system CAs.', false),
  tlsCaFile: field.string('PEM file of the CA(s) that sign the Redis server certificate (a private CA); empty: the system CAs.', ''),
  keyPrefix: field.string('Prefix of every key the relay writes, so several relays (or other applications) can share one Redis.', 'xr:'),
  durability: field.enum(
    'When a post counts as durable (202): `aof`: the Redis primary has it in its append-only file, fsync\'d before it replies (needs `appendonly yes` and `appendfsync always`, checked at start); `wait`: additionally `WAIT redis.waitReplicas redis.waitTimeoutMs` after each write, for replicas (a post refused 503 store_unavailable when fewer replicas acknowledged).',
    'aof',
    ['aof', 'wait'] as const,
  ),
  waitReplicas: field.int('Replicas that must acknowledge a write before a post is answered when `redis.durability` is `wait`.', 1, { min: 1, max: 16 }),
  waitTimeoutMs: field.int('Longest wait for replica acknowledgements (WAIT timeout) when `redis.durability` is `wait`.', 1000, { min: 1, max: 60_000 }),
  resyncIntervalSec: field.int('Cluster mode: seconds between re-reads of every mailbox with a live reader on this node, the bound on how late an envelope is delivered live when its cross-node hint was lost (a node killed between its 202 and its publish). Hints lost on a Redis disconnect are usually caught at reconnect; this timer is the bound when the store connection of the node comes back after its subscriber connection.', 10, { min: 1, max: 3600 }),
  assumeDurable: field.bool('Start even when `CONFIG GET` is refused (managed Redis often disables CONFIG), trusting the operator that the service fsyncs every write; a warning is logged. A Redis that answers CONFIG and is not durable is still refused.', false),
} as const;

export const storeOptions = {
  store: field.enum('Envelope store: `lmdb` (embedded, in `dataDir`; the default, nothing to run) or `redis` (shared by several relay nodes; see the `redis` section).', 'lmdb', ['lmdb', 'redis'] as const),
  redis: redisOptions,
} as const;
