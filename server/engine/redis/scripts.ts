/**
 * The Redis engine's Lua scripts: each runs atomically on the Redis that
 * holds its keys (one Cluster slot per script, `keys.ts`), so assigning a
 * seq, appending to history, trimming and publishing are one step that no
 * other node can interleave with.
 *
 * Responsible for the scripts' text and argument order. Not responsible for
 * calling them (`log.ts`, `dedupe.ts`).
 */

/** Shared by the history scripts: trimming from the oldest end, keeping the counters right. */
const TRIM = `
local meta, stream, users, ids = KEYS[1], KEYS[2], KEYS[3], KEYS[4]

local function seqOf(id) return tonumber(string.match(id, '^(%d+)')) end

local function fieldsOf(list)
  local f = {}
  for j = 1, #list, 2 do f[list[j]] = list[j + 1] end
  return f
end

-- Forgets one entry's bytes, its sender's share and its id.
local function forget(f)
  local c = tonumber(f.c)
  redis.call('HINCRBY', meta, 'b', -c)
  if f.u ~= '' then
    if redis.call('HINCRBY', users, f.u, -c) <= 0 then redis.call('HDEL', users, f.u) end
  end
  if f.i ~= '' then redis.call('HDEL', ids, f.u .. '\\0' .. f.i) end
end

-- Drops the n oldest entries.
local function dropOldest(n)
  local entries = redis.call('XRANGE', stream, '-', '+', 'COUNT', n)
  if #entries == 0 then return 0 end
  for _, e in ipairs(entries) do forget(fieldsOf(e[2])) end
  redis.call('XTRIM', stream, 'MINID', (seqOf(entries[#entries][1]) + 1) .. '-0')
  return #entries
end

-- Drops entries appended before cutoff (ms). The oldest entry is looked at alone first: almost
-- every call finds it young enough, and reading 64 entries (payloads and all) on every publish
-- cost Redis more than the rest of the script (bench/cluster/README.md).
local function dropExpired(cutoff)
  local first = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)[1]
  if not first or tonumber(fieldsOf(first[2]).t) >= cutoff then return end
  while true do
    local entries = redis.call('XRANGE', stream, '-', '+', 'COUNT', 64)
    local n = 0
    for _, e in ipairs(entries) do
      if tonumber(fieldsOf(e[2]).t) >= cutoff then break end
      n = n + 1
    end
    if n == 0 then return end
    dropOldest(n)
    if n < 64 then return end
  end
end

-- The topic's epoch, made (with everything of the topic cleared) when the record is missing:
-- Redis lost it (flushed, restarted without persistence, evicted) or it was idle past its TTL.
local function epochOf(candidate, now)
  local epoch = redis.call('HGET', meta, 'e')
  if epoch then return epoch end
  redis.call('DEL', stream, users, ids)
  redis.call('HSET', meta, 'e', candidate, 's', 0, 'b', 0, 't', now)
  return candidate
end

local function keep(ttl)
  for _, key in ipairs({meta, stream, users, ids}) do redis.call('PEXPIRE', key, ttl) end
end
`;

/**
 * Sequences, stores and publishes one broadcast.
 *
 * KEYS: meta, stream, users, ids. ARGV: channel, event, payload, id (`''`: none), exclude (`''`:
 * none), user (`''`: server code), now, limit, maxAgeMs, maxTopicBytes, maxUserBytes, cost,
 * candidate epoch, ttl (ms), kind (`'b'` for a binary payload, `''` for JSON).
 *
 * Returns `{epoch, seq, duplicate}`; `seq` is -1 when the sender is over its share (nothing applied);
 * `duplicate` is 1 when `(user, id)` was already published and is still held (its position is returned).
 */
export const PUBLISH = `${TRIM}
local channel, event, payload, id, exclude, user = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local now, limit, maxAge, maxTopic, maxUser, cost = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11]), tonumber(ARGV[12])
local epoch = epochOf(ARGV[13], now)
if id ~= '' then
  local known = redis.call('HGET', ids, user .. '\\0' .. id)
  if known then return {epoch, tonumber(known), 1} end
end
dropExpired(now - maxAge)
if user ~= '' and limit > 0 then
  local replaced = 0
  if redis.call('XLEN', stream) >= limit then
    local oldest = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)[1]
    local f = fieldsOf(oldest[2])
    if f.u == user then replaced = tonumber(f.c) end
  end
  if tonumber(redis.call('HGET', users, user) or '0') - replaced + cost > maxUser then return {epoch, -1, 0} end
end
local seq = redis.call('HINCRBY', meta, 's', 1)
redis.call('HSET', meta, 't', now)
if limit > 0 then
  redis.call('XADD', stream, seq .. '-0', 'e', event, 'p', payload, 'i', id, 'x', exclude, 'u', user, 't', now, 'c', cost, 'k', ARGV[15])
  redis.call('HINCRBY', meta, 'b', cost)
  if user ~= '' then redis.call('HINCRBY', users, user, cost) end
  if id ~= '' then redis.call('HSET', ids, user .. '\\0' .. id, seq) end
  local over = redis.call('XLEN', stream) - limit
  if over > 0 then dropOldest(over) end
  while tonumber(redis.call('HGET', meta, 'b')) > maxTopic and redis.call('XLEN', stream) > 1 do dropOldest(1) end
end
keep(tonumber(ARGV[14]))
local seqText = tostring(seq)
redis.call('SPUBLISH', channel, table.concat({#epoch, ':', epoch, #seqText, ':', seqText, #event, ':', event, #id, ':', id, #exclude, ':', exclude, #ARGV[15], ':', ARGV[15], payload}))
return {epoch, seq, 0}
`;

/**
 * The topic's window and, when `limit` > 0, entries `from..to` (at most `limit`).
 *
 * KEYS: meta, stream, users, ids. ARGV: from, to, limit, now, maxAgeMs, candidate epoch, ttl (ms).
 *
 * Returns `{epoch, head, oldest, seq1, event1, payload1, id1, exclude1, time1, kind1, seq2, …}`.
 */
export const READ = `${TRIM}
local from, to, limit, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local epoch = epochOf(ARGV[6], now)
dropExpired(now - tonumber(ARGV[5]))
local head = tonumber(redis.call('HGET', meta, 's'))
local first = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)[1]
local oldest = head + 1
if first then oldest = seqOf(first[1]) end
if redis.call('TTL', meta) < 0 then keep(tonumber(ARGV[7])) end
local out = {epoch, head, oldest}
local start, stop = math.max(from, oldest), math.min(to, head)
if limit > 0 and start <= stop then
  for _, e in ipairs(redis.call('XRANGE', stream, start .. '-0', stop .. '-0', 'COUNT', limit)) do
    local f = fieldsOf(e[2])
    table.insert(out, seqOf(e[1]))
    table.insert(out, f.e)
    table.insert(out, f.p)
    table.insert(out, f.i)
    table.insert(out, f.x)
    table.insert(out, tonumber(f.t))
    table.insert(out, f.k or '')
  end
end
return out
`;

/**
 * Claims a dedupe record for a user, within its share.
 *
 * KEYS: record, index. ARGV: now, leaseMs, windowMs, maxPerUser, member (the record's name after
 * the records' prefix), records' prefix.
 *
 * Returns `{'claimed', evicted}`, `{'pending'}` or `{'done', outcomeJson}`.
 */
export const CLAIM = `
local record, index = KEYS[1], KEYS[2]
local now, lease, window, maxPerUser = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local member, recordPrefix = ARGV[5], ARGV[6]
local value = redis.call('GET', record)
if value then
  if string.sub(value, 1, 1) == 'p' then return {'pending'} end
  return {'done', string.sub(value, 2)}
end
redis.call('SET', record, 'p', 'PX', lease)
redis.call('ZREMRANGEBYSCORE', index, '-inf', now - window)
redis.call('ZADD', index, now, member)
local evicted = 0
local over = redis.call('ZCARD', index) - maxPerUser
while over > 0 do
  local oldest = redis.call('ZPOPMIN', index, 1)
  if #oldest == 0 then break end
  local name = recordPrefix .. oldest[1]
  local held = redis.call('GET', name)
  if held and string.sub(held, 1, 1) == 'p' and oldest[1] ~= member then
    -- Still being handled: never forgotten; it goes back, and the share may run over until it settles.
    redis.call('ZADD', index, oldest[2], oldest[1])
    break
  end
  redis.call('DEL', name)
  if held then evicted = evicted + 1 end
  over = over - 1
end
redis.call('PEXPIRE', index, window)
return {'claimed', evicted}
`;

/**
 * Folds a document's log into its state, if no other compaction came first.
 *
 * KEYS: state, log, version. ARGV: merged state, count (log entries folded), version read.
 *
 * Returns 1 when done, 0 when the version moved on (nothing changed).
 */
export const COMPACT = `
local version = tonumber(redis.call('GET', KEYS[3]) or '0')
if version ~= tonumber(ARGV[3]) or redis.call('LLEN', KEYS[2]) < tonumber(ARGV[2]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[2], tonumber(ARGV[2]), -1)
redis.call('INCR', KEYS[3])
return 1
`;
