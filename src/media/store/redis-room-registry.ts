/**
 * The room registry on Redis (cluster mode): node registrations and room leases. Decisions are made
 * in core/room-placement.ts; this file only keeps them atomic in Redis. README "Running a cluster".
 *
 * Keys (prefix `redis.keyPrefix`; `{...}` is the Redis Cluster hash tag):
 *
 * | key | type | holds |
 * |---|---|---|
 * | `{nodes}:ids` | set | ids of registered nodes (pruned of ids whose record expired) |
 * | `{nodes}:n:<node id>` | string, PX leaseTtlMs | the node's record (JSON: id, url, udp, sessions, rooms, draining) |
 * | `{room:<room hash>}` | string, PX leaseTtlMs | the id of the node holding the room |
 *
 * Node keys share the `{nodes}` tag, so one script registers a node and reads every live record in
 * one slot (it reads `{nodes}:n:<id>` keys named from the set: same slot, which Redis Cluster
 * allows). Each room has its own tag: room leases spread over the masters. The room hash is the first
 * 16 bytes of SHA-256("xrelay room placement" || room id): Redis never sees a room id, a session id
 * or any client address.
 */
import { createHash } from 'node:crypto';
import { parseNodeRecord, type NodeRecord } from '../codec/node-record.js';
import { createRedisClient, type RedisClient, type RedisStoreOptions } from '../../redis/redis-client.js';

/** Registers the node and returns every live record (own included); prunes the ids of expired ones. */
const HEARTBEAT_LUA = `
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
redis.call('SADD', KEYS[1], ARGV[1])
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local v = redis.call('GET', ARGV[4] .. id)
  if v then out[#out + 1] = v else redis.call('SREM', KEYS[1], id) end
end
return out`;

/** Deregisters the node (graceful close). */
const LEAVE_LUA = `
redis.call('DEL', KEYS[2])
redis.call('SREM', KEYS[1], ARGV[1])
return 1`;

/**
 * The room's owner: kept when it is one of the live ids (ARGV[3..]), else the candidate (ARGV[1])
 * takes the room for ARGV[2] ms. Returns the owner after the call.
 */
const PLACE_LUA = `
local cur = redis.call('GET', KEYS[1])
if cur then
  for i = 3, #ARGV do
    if ARGV[i] == cur then return cur end
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ARGV[1]`;

/** Extends the lease if ARGV[1] holds it, takes it back if it lapsed and nobody took it; 0 if another node holds it. */
const RENEW_LUA = `
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not cur then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`;

/** Deletes the mapping if ARGV[1] still holds it (the room emptied). */
const RELEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

interface Scripts {
  xrNodeBeat(ids: string, self: string, id: string, record: string, ttlMs: number, nodePrefix: string): Promise<string[]>;
  xrNodeLeave(ids: string, self: string, id: string): Promise<number>;
  xrRoomPlace(room: string, candidate: string, ttlMs: number, ...live: string[]): Promise<string>;
  xrRoomRenew(room: string, id: string, ttlMs: number): Promise<number>;
  xrRoomRelease(room: string, id: string): Promise<number>;
}

/** How long a command waits for the connection while Redis (re)connects, before it fails. */
const QUEUE_MS = 1_000;

/** The room key's hash part of a room id (base64url of 16 bytes of SHA-256). */
export function roomHashOf(room: Uint8Array): string {
  return createHash('sha256').update('xrelay room placement').update(room).digest().subarray(0, 16).toString('base64url');
}

export class RedisRoomRegistry {
  private readonly client: RedisClient;
  private readonly scripts: Scripts;
  private readonly idsKey: string;
  private readonly nodePrefix: string;

  constructor(private readonly opts: RedisStoreOptions) {
    this.client = createRedisClient(opts, { eager: true, queueMs: QUEUE_MS });
    this.client.defineCommand('xrNodeBeat', { lua: HEARTBEAT_LUA, numberOfKeys: 2 });
    this.client.defineCommand('xrNodeLeave', { lua: LEAVE_LUA, numberOfKeys: 2 });
    this.client.defineCommand('xrRoomPlace', { lua: PLACE_LUA, numberOfKeys: 1 });
    this.client.defineCommand('xrRoomRenew', { lua: RENEW_LUA, numberOfKeys: 1 });
    this.client.defineCommand('xrRoomRelease', { lua: RELEASE_LUA, numberOfKeys: 1 });
    this.scripts = this.client as unknown as Scripts;
    this.idsKey = `${opts.keyPrefix}{nodes}:ids`;
    this.nodePrefix = `${opts.keyPrefix}{nodes}:n:`;
  }

  /** Registers `record` for `ttlMs` and returns every live record (malformed ones skipped). */
  async heartbeat(record: NodeRecord, ttlMs: number): Promise<NodeRecord[]> {
    const raw = await this.scripts.xrNodeBeat(this.idsKey, this.nodePrefix + record.id, record.id, JSON.stringify(record), ttlMs, this.nodePrefix);
    const out: NodeRecord[] = [];
    for (const text of raw) {
      const n = parseNodeRecord(text);
      if (n !== undefined) out.push(n);
    }
    return out;
  }

  async leave(id: string): Promise<void> {
    await this.scripts.xrNodeLeave(this.idsKey, this.nodePrefix + id, id);
  }

  /** The room's owner after offering it to `candidate` unless one of `live` holds it. */
  async place(roomHash: string, candidate: string, live: readonly string[], ttlMs: number): Promise<string> {
    return String(await this.scripts.xrRoomPlace(this.roomKey(roomHash), candidate, ttlMs, ...live));
  }

  /** True when `id` holds the room's lease after the call. */
  async renew(roomHash: string, id: string, ttlMs: number): Promise<boolean> {
    return (await this.scripts.xrRoomRenew(this.roomKey(roomHash), id, ttlMs)) === 1;
  }

  async release(roomHash: string, id: string): Promise<void> {
    await this.scripts.xrRoomRelease(this.roomKey(roomHash), id);
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }

  private roomKey(roomHash: string): string {
    return `${this.opts.keyPrefix}{room:${roomHash}}`;
  }
}
