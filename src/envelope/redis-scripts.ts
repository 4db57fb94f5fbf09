/**
 * The Lua scripts of the Redis envelope store (redis-store.ts). Each script touches keys of ONE hash
 * slot only, so they run unchanged on a single Redis and on a Redis Cluster:
 *   mailbox scripts: `{m}:i` (ids), `{m}:b` (bodies), `{m}:u` (usage), all tagged with the mailbox;
 *   global scripts:  `{global}:u` (store-wide count and bytes);
 *   index scripts:   one expiry-index shard `{exp-N}`.
 * Ids are compared byte by byte, never with Lua's `<` on strings: Redis sets LC_COLLATE from the
 * environment, and strcoll on binary ids would not be byte order.
 * ioredis sends them with EVALSHA and falls back to EVAL on NOSCRIPT (a restarted or failed-over Redis).
 */

/** true when the 16-byte id `a` sorts after `b`. */
const AFTER = `
local function after(a, b)
  for k = 1, 16 do
    local x, y = string.byte(a, k), string.byte(b, k)
    if x ~= y then return x > y end
  end
  return false
end`;

/** `last`'s 8-byte stamp (arrival ms, sequence) plus one, followed by `id`'s random tail. */
const BUMP = `
local function bump(last, id)
  local t = {string.byte(last, 1, 8)}
  local k = 8
  while k >= 1 do
    if t[k] < 255 then t[k] = t[k] + 1; break end
    t[k] = 0
    k = k - 1
  end
  return string.char(unpack(t)) .. string.sub(id, 9, 16)
end`;

/** Deletes the ids in `list` from the mailbox; returns count and bytes freed. */
const DELETE = `
local function delete(list)
  local n, bytes = 0, 0
  for k = 1, #list do
    if redis.call('ZREM', KEYS[1], list[k]) == 1 then
      n = n + 1
      bytes = bytes + redis.call('HSTRLEN', KEYS[2], list[k])
      redis.call('HDEL', KEYS[2], list[k])
    end
  end
  if n > 0 then
    local c = redis.call('HINCRBY', KEYS[3], 'c', -n)
    redis.call('HINCRBY', KEYS[3], 'b', -bytes)
    if c <= 0 then redis.call('DEL', KEYS[3]) end
  end
  return n, bytes
end`;

/**
 * KEYS: ids, bodies, usage. ARGV: id, body, maxCount, maxBytes.
 * Returns {0} when the mailbox is at its quota, else {1, id}: the id is the given one, or, when it
 * would not sort after the mailbox's newest (another node's clock is ahead), the newest's stamp + 1,
 * so a reader paging by id never misses an envelope stored behind its cursor.
 */
export const PUT_LUA = `${AFTER}${BUMP}
local n = tonumber(redis.call('HGET', KEYS[3], 'c') or '0')
local bytes = tonumber(redis.call('HGET', KEYS[3], 'b') or '0')
local len = string.len(ARGV[2])
if n + 1 > tonumber(ARGV[3]) or bytes + len > tonumber(ARGV[4]) then return {0} end
local id = ARGV[1]
local last = redis.call('ZRANGE', KEYS[1], '+', '-', 'BYLEX', 'REV', 'LIMIT', 0, 1)[1]
if last and not after(id, last) then id = bump(last, id) end
redis.call('ZADD', KEYS[1], 0, id)
redis.call('HSET', KEYS[2], id, ARGV[2])
redis.call('HINCRBY', KEYS[3], 'c', 1)
redis.call('HINCRBY', KEYS[3], 'b', len)
return {1, id}`;

/** KEYS: ids, bodies. ARGV: afterId ('' for the start), limit. Returns id, body, id, body... oldest first. */
export const LIST_LUA = `
local min = '-'
if ARGV[1] ~= '' then min = '(' .. ARGV[1] end
local ids = redis.call('ZRANGE', KEYS[1], min, '+', 'BYLEX', 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for k = 1, #ids do
  local body = redis.call('HGET', KEYS[2], ids[k])
  if body then
    out[#out + 1] = ids[k]
    out[#out + 1] = body
  end
end
return out`;

/** KEYS: ids, bodies, usage. ARGV: the ids to delete. Returns {count, bytes}. */
export const ACK_LUA = `${DELETE}
local n, bytes = delete(ARGV)
return {n, bytes}`;

/**
 * KEYS: ids, bodies, usage. ARGV: cutoff (6-byte big-endian ms: ids start with their arrival ms, so
 * every id sorting before it arrived before the cutoff), batch limit.
 * Returns {count, bytes, oldest remaining id or ''}.
 */
export const EXPIRE_LUA = `${DELETE}
local victims = redis.call('ZRANGE', KEYS[1], '-', '(' .. ARGV[1], 'BYLEX', 'LIMIT', 0, tonumber(ARGV[2]))
local n, bytes = delete(victims)
local first = redis.call('ZRANGE', KEYS[1], '-', '+', 'BYLEX', 'LIMIT', 0, 1)[1]
return {n, bytes, first or ''}`;

/**
 * KEYS: the global usage hash. ARGV: bytes, cap. Reserves one envelope of `bytes` against the
 * store-wide cap. Returns {1 reserved | 0 refused, count, bytes}.
 */
export const RESERVE_LUA = `
local b = tonumber(redis.call('HGET', KEYS[1], 'b') or '0')
if b + tonumber(ARGV[1]) > tonumber(ARGV[2]) then
  return {0, tonumber(redis.call('HGET', KEYS[1], 'c') or '0'), b}
end
local nb = redis.call('HINCRBY', KEYS[1], 'b', ARGV[1])
local nc = redis.call('HINCRBY', KEYS[1], 'c', 1)
return {1, nc, nb}`;

/** KEYS: the global usage hash. ARGV: count delta, bytes delta. Returns {count, bytes}. */
export const ADJUST_LUA = `
local c = redis.call('HINCRBY', KEYS[1], 'c', ARGV[1])
local b = redis.call('HINCRBY', KEYS[1], 'b', ARGV[2])
return {c, b}`;

/**
 * KEYS: an expiry-index shard (members: mailbox ids, score: the mailbox's oldest arrival ms).
 * ARGV: cutoff ms, lease score, limit. Claims up to `limit` mailboxes holding something older than
 * the cutoff by moving their score to the lease (past the cutoff): a concurrent sweep on another
 * node skips them, and if this sweeper dies they come due again once cutoffs pass the lease.
 */
export const CLAIM_LUA = `
local m = redis.call('ZRANGE', KEYS[1], '-inf', '(' .. ARGV[1], 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[3]))
for k = 1, #m do redis.call('ZADD', KEYS[1], 'XX', ARGV[2], m[k]) end
return m`;

/**
 * KEYS: an expiry-index shard. ARGV: mailbox, lease score. Removes a swept, now empty mailbox from
 * the index only if its score is still the lease: a put that landed meanwhile lowered it (ZADD LT),
 * and then the entry must stay.
 */
export const RELEASE_LUA = `
local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
if s and tonumber(s) == tonumber(ARGV[2]) then redis.call('ZREM', KEYS[1], ARGV[1]); return 1 end
return 0`;
