/**
 * The Lua scripts of the Redis envelope store (redis-store.ts). On a Cluster each script touches keys
 * of ONE hash slot; on one instance PUT_ONE_LUA, ACK_LUA and EXPIRE_LUA also charge the global
 * counter in the same script (no slots there), so it never drifts:
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
    if KEYS[4] then
      redis.call('HINCRBY', KEYS[4], 'c', -n)
      redis.call('HINCRBY', KEYS[4], 'b', -bytes)
    end
  end
  return n, bytes
end`;

/** On one instance (a 4th key, the global usage hash, given): its count and bytes after the script. */
const TOTALS = `
local function totals()
  if not KEYS[4] then return 0, 0 end
  return tonumber(redis.call('HGET', KEYS[4], 'c') or '0'), tonumber(redis.call('HGET', KEYS[4], 'b') or '0')
end`;

/**
 * Stores one envelope in the mailbox whose keys are KEYS[1..3] (ids, bodies, usage), unless that
 * takes the mailbox past its quota (returns nil). Returns the id stored: the given one, or, when it
 * would not sort after the mailbox's newest (another node's clock is ahead), the newest's stamp + 1,
 * so a reader paging by id never misses an envelope stored behind its cursor.
 */
const STORE = `${AFTER}${BUMP}
local function store(id, body, maxCount, maxBytes)
  local n = tonumber(redis.call('HGET', KEYS[3], 'c') or '0')
  local bytes = tonumber(redis.call('HGET', KEYS[3], 'b') or '0')
  local len = string.len(body)
  if n + 1 > tonumber(maxCount) or bytes + len > tonumber(maxBytes) then return nil end
  local last = redis.call('ZRANGE', KEYS[1], '+', '-', 'BYLEX', 'REV', 'LIMIT', 0, 1)[1]
  if last and not after(id, last) then id = bump(last, id) end
  redis.call('ZADD', KEYS[1], 0, id)
  redis.call('HSET', KEYS[2], id, body)
  redis.call('HINCRBY', KEYS[3], 'c', 1)
  redis.call('HINCRBY', KEYS[3], 'b', len)
  return id
end`;

/** Cluster put, mailbox part. KEYS: ids, bodies, usage. ARGV: id, body, maxCount, maxBytes. Returns {0} (quota) or {1, id}. */
export const PUT_LUA = `${STORE}
local id = store(ARGV[1], ARGV[2], ARGV[3], ARGV[4])
if not id then return {0} end
return {1, id}`;

/**
 * Single-instance put: reserve, store and index in one atomic script (no slots to respect on one
 * Redis, so the global counter and the index shard join the mailbox keys: one round trip, one AOF
 * entry, and no reservation is ever left behind by a crash).
 * KEYS: ids, bodies, usage, global usage, index shard. ARGV: id, body, maxCount, maxBytes, storeMaxBytes, mailbox.
 * Returns {-1, count, bytes} (store cap), {0, count, bytes} (mailbox quota) or {1, count, bytes, id}.
 */
export const PUT_ONE_LUA = `${STORE}
local gc = tonumber(redis.call('HGET', KEYS[4], 'c') or '0')
local gb = tonumber(redis.call('HGET', KEYS[4], 'b') or '0')
local len = string.len(ARGV[2])
if gb + len > tonumber(ARGV[5]) then return {-1, gc, gb} end
local id = store(ARGV[1], ARGV[2], ARGV[3], ARGV[4])
if not id then return {0, gc, gb} end
gc = redis.call('HINCRBY', KEYS[4], 'c', 1)
gb = redis.call('HINCRBY', KEYS[4], 'b', len)
local ms = 0
for k = 1, 6 do ms = ms * 256 + string.byte(id, k) end
redis.call('ZADD', KEYS[5], 'LT', ms, ARGV[6])
return {1, gc, gb, id}`;

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

/**
 * KEYS: ids, bodies, usage [, global usage: one instance only, charged in the same script].
 * ARGV: the ids to delete. Returns {count, bytes, global count, global bytes}.
 */
export const ACK_LUA = `${DELETE}${TOTALS}
local n, bytes = delete(ARGV)
local gc, gb = totals()
return {n, bytes, gc, gb}`;

/**
 * KEYS: ids, bodies, usage [, global usage, as in ACK_LUA]. ARGV: cutoff (6-byte big-endian ms: ids start with their arrival ms, so
 * every id sorting before it arrived before the cutoff), batch limit.
 * Returns {count, bytes, oldest remaining id or '', global count, global bytes}.
 */
export const EXPIRE_LUA = `${DELETE}${TOTALS}
local victims = redis.call('ZRANGE', KEYS[1], '-', '(' .. ARGV[1], 'BYLEX', 'LIMIT', 0, tonumber(ARGV[2]))
local n, bytes = delete(victims)
local first = redis.call('ZRANGE', KEYS[1], '-', '+', 'BYLEX', 'LIMIT', 0, 1)[1]
local gc, gb = totals()
return {n, bytes, first or '', gc, gb}`;

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

/**
 * KEYS: the push-target index (sorted set: mailbox id -> the target's expiry ms). ARGV: mailbox id,
 * expiry ms, now ms, cap. Drops the expired entries, then admits the mailbox when it is already in
 * (a re-registration) or the index holds fewer than `cap`. Returns 1 admitted, 0 refused.
 */
export const PUSH_ADMIT_LUA = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return 1`;

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
 * KEYS: an expiry-index shard. ARGV: mailbox, lease score, the oldest arrival left in the swept
 * mailbox. Puts the entry back at that arrival: set when it still holds the lease (nothing touched
 * it since the claim), else lowered only (a put meanwhile may have set an earlier arrival: ZADD LT).
 * A plain ZADD LT would leave the lease in place whenever the oldest left is younger than it, and
 * the mailbox would be claimed and swept again every lease period until it empties.
 */
export const REINDEX_LUA = `
local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
if s and tonumber(s) == tonumber(ARGV[2]) then return redis.call('ZADD', KEYS[1], 'XX', ARGV[3], ARGV[1]) end
return redis.call('ZADD', KEYS[1], 'LT', ARGV[3], ARGV[1])`;

/**
 * KEYS: an expiry-index shard. ARGV: mailbox, lease score. Removes a swept, now empty mailbox from
 * the index only if its score is still the lease: a put that landed meanwhile lowered it (ZADD LT),
 * and then the entry must stay.
 */
export const RELEASE_LUA = `
local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
if s and tonumber(s) == tonumber(ARGV[2]) then redis.call('ZREM', KEYS[1], ARGV[1]); return 1 end
return 0`;
