/**
 * The Redis engine's Lua scripts: each runs atomically on the Redis that
 * holds its keys (on a Cluster, one slot per call: `keys.ts`, `batch.ts`),
 * so assigning a seq, appending to history, trimming and publishing are one
 * step that no other node can interleave with.
 *
 * Responsible for the scripts' text and argument order. Not responsible for
 * calling them (`log.ts`, `dedupe.ts`).
 */

/**
 * Shared by the history scripts: a topic's record opened once per script call and written back once
 * (`open`, `close`), and trimming from the oldest end, keeping the counters right. A topic is a Lua
 * table: its five keys, `epoch`, `seq` (head), `bytes` (held) and `len` (entries held), so a script
 * that handles several broadcasts of a topic reads and writes its record once, not once each.
 */
const TRIM = `
local function seqOf(id) return tonumber(string.match(id, '^(%d+)')) end

-- A whole number as text. Lua's own conversion (and redis.call's, for a number argument) formats it as a
-- float (sprintf '%.14g' and '%.17g'): glibc's float formatting was 7% of Redis's CPU per broadcast.
local function int(n) return string.format('%d', n) end

local function fieldsOf(list)
  local f = {}
  for j = 1, #list, 2 do f[list[j]] = list[j + 1] end
  return f
end

-- A ledger record: what trimming needs of an entry, without its payload: '<seq> <time> <cost> <sender>\\0<id>'.
local function record(seq, time, cost, user, id) return seq .. ' ' .. time .. ' ' .. cost .. ' ' .. user .. '\\0' .. id end

local function recordOf(r)
  local a = string.find(r, ' ', 1, true)
  local b = string.find(r, ' ', a + 1, true)
  local c = string.find(r, ' ', b + 1, true)
  local z = string.find(r, '\\0', c + 1, true)
  return {s = tonumber(string.sub(r, 1, a - 1)), t = tonumber(string.sub(r, a + 1, b - 1)), c = tonumber(string.sub(r, b + 1, c - 1)),
    u = string.sub(r, c + 1, z - 1), i = string.sub(r, z + 1)}
end

-- The topic at KEYS[k..k+4] (meta, stream, users, ids, ledger). Its record is made (with everything
-- of the topic cleared) when missing: Redis lost it (flushed, restarted without persistence, evicted)
-- or it was idle past its TTL; then its epoch is the candidate. The record also says when the topic's
-- TTLs were last refreshed (r), when a publish last looked for expired entries (c) and the layout of
-- its keys (v): a topic written before the ledger existed (no v) gets its ledger built from the
-- stream once.
local function open(k, candidate)
  local t = {meta = KEYS[k], stream = KEYS[k + 1], users = KEYS[k + 2], ids = KEYS[k + 3], ledger = KEYS[k + 4], dirty = false}
  local m = redis.call('HMGET', t.meta, 'e', 's', 'b', 'r', 'c', 'v')
  if m[1] then
    t.epoch, t.seq, t.bytes = m[1], tonumber(m[2]), tonumber(m[3])
    t.refreshed, t.checked = tonumber(m[4] or '0'), tonumber(m[5] or '0')
    if m[6] ~= '2' then
      redis.call('DEL', t.ledger)
      for _, e in ipairs(redis.call('XRANGE', t.stream, '-', '+')) do
        local f = fieldsOf(e[2])
        redis.call('RPUSH', t.ledger, record(int(seqOf(e[1])), f.t, f.c, f.u, f.i))
      end
      t.migrated, t.dirty = true, true
    end
  else
    redis.call('DEL', t.stream, t.users, t.ids, t.ledger)
    t.epoch, t.seq, t.bytes, t.made, t.dirty = candidate, 0, 0, true, true
    t.refreshed, t.checked = 0, 0
  end
  t.len = redis.call('LLEN', t.ledger)
  t.empty = t.len == 0
  return t
end

-- Writes the record back (when it changed) and refreshes the TTLs: all five keys when \`all\`, when
-- the record or the stream was made now, or (for a publish, \`periodic\`) when the last refresh is a
-- quarter of \`ttl\` old, so a topic lives at least three quarters of \`ttl\` after its last publish
-- and busy topics do not pay five PEXPIRE per call; else only the user and id hashes this call wrote
-- (either may have been made again after emptying, without a TTL).
local function close(t, now, ttl, all, periodic)
  local fields = {}
  if t.appended or t.made then
    fields = {'e', t.epoch, 's', int(t.seq), 'b', int(t.bytes), 't', int(now)}
  elseif t.dirty then
    fields = {'b', int(t.bytes)}
  end
  if t.made or t.migrated then fields[#fields + 1], fields[#fields + 2] = 'v', '2' end
  if t.scanned then fields[#fields + 1], fields[#fields + 2] = 'c', int(t.scanned) end
  if all or t.made or t.migrated or (t.empty and t.appended) or (periodic and now - t.refreshed >= ttl / 4) then
    fields[#fields + 1], fields[#fields + 2] = 'r', int(now)
    redis.call('HSET', t.meta, unpack(fields))
    for _, key in ipairs({t.meta, t.stream, t.users, t.ids, t.ledger}) do redis.call('PEXPIRE', key, ttl) end
    return
  end
  if #fields > 0 then redis.call('HSET', t.meta, unpack(fields)) end
  if t.wroteUsers then redis.call('PEXPIRE', t.users, ttl) end
  if t.wroteIds then redis.call('PEXPIRE', t.ids, ttl) end
end

-- Forgets one entry's bytes, its sender's share and its id.
local function forget(t, f)
  t.bytes, t.dirty = t.bytes - f.c, true
  if f.u ~= '' then
    if redis.call('HINCRBY', t.users, f.u, int(-f.c)) <= 0 then redis.call('HDEL', t.users, f.u) end
  end
  if f.i ~= '' then redis.call('HDEL', t.ids, f.u .. '\\0' .. f.i) end
end

-- Drops the n oldest entries: their records come off the ledger, and the stream loses every entry up
-- to the last of them, so no payload is read to trim.
local function dropOldest(t, n)
  local records = redis.call('LPOP', t.ledger, n)
  if not records or #records == 0 then return 0 end
  local last
  for _, r in ipairs(records) do
    last = recordOf(r)
    forget(t, last)
  end
  redis.call('XTRIM', t.stream, 'MINID', int(last.s + 1) .. '-0')
  t.len = t.len - #records
  -- An emptied list is deleted, and an append makes it again without a TTL. Only expiry empties it (the
  -- limits keep one entry), so the last TTL refresh is then at least maxAge (half the TTL) old, and
  -- the publish that appends refreshes every TTL (\`close\`, periodic).
  return #records
end

-- The oldest entry's ledger record, or nil.
local function oldest(t)
  local r = redis.call('LINDEX', t.ledger, 0)
  if r then return recordOf(r) end
  return nil
end

-- Drops entries appended before cutoff (ms). The oldest entry is looked at alone first: almost every
-- call finds it young enough.
local function dropExpired(t, cutoff)
  if t.len == 0 then return end
  local first = oldest(t)
  if not first or first.t >= cutoff then return end
  while true do
    local records = redis.call('LRANGE', t.ledger, 0, 63)
    local n = 0
    for _, r in ipairs(records) do
      if recordOf(r).t >= cutoff then break end
      n = n + 1
    end
    if n == 0 then return end
    dropOldest(t, n)
    if n < 64 then return end
  end
end
`;

/**
 * Sequences, stores and publishes the broadcasts of one or more topics (those a node made in one
 * event-loop turn), in the order given, as one atomic step.
 *
 * KEYS: five per topic (meta, stream, users, ids, ledger). ARGV: now, limit, maxAgeMs, maxTopicBytes,
 * maxUserBytes, ttl (ms); then per topic, in the order of KEYS: candidate epoch, count, and `count`
 * broadcasts of 7 fields each: event, payload, id (`''`: none), exclude (`''`: none), user (`''`:
 * server code), cost, kind (`'b'` for a binary payload, `''` for JSON; with `'f'` before it, history keeps the
 * entry folded: its position and event, an empty payload, PROTOCOL.md §7).
 *
 * Returns, per topic in the order of KEYS, its epoch then one seq per broadcast; a seq of -1 says the
 * sender is over its share (nothing applied). A broadcast whose `(user, id)` was already published and is still
 * held is not applied again: its original position is returned.
 *
 * Each topic's applied broadcasts go out as one message on its shard channel (`P:{topic}:b`, the
 * meta key's name with `b` for `m`): `*`, the epoch, then per broadcast its seq, event, id, exclude,
 * kind and payload, each as `<length>:<bytes>` (lengths in bytes, decimal).
 */
export const PUBLISH = `${TRIM}
local nowText = ARGV[1]
local now, limit, maxAge, maxTopic, maxUser, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
-- A publish looks for expired entries at most this often per topic (reads always do, so none is ever
-- served): the oldest entry is not fetched on every call.
local scanEvery = math.min(1000, maxAge)
local out = {}
local a = 7

-- Trims what the call's appends put over the limits. Deferred while the topic's broadcasts need no
-- look at what is held (no id, no sender's share), so a call trims each topic once, not once each;
-- the script is atomic, so nobody sees the topic in between.
local function settle(t)
  if limit <= 0 then return end
  if t.len > limit then dropOldest(t, t.len - limit) end
  while t.bytes > maxTopic and t.len > 1 do dropOldest(t, 1) end
end

-- One broadcast: returns its seq (-1: over its share) and, when it was applied now, its seq as text.
-- \`kept\` is what history holds of its payload (empty for a folded entry); \`costText\` is \`cost\` as sent.
local function publishOne(t, event, kept, id, exclude, user, cost, costText, kind)
  if id ~= '' then
    settle(t)
    local known = redis.call('HGET', t.ids, user .. '\\0' .. id)
    if known then return tonumber(known), nil end
  end
  if user ~= '' and limit > 0 then
    settle(t)
    local replaced = 0
    if t.len >= limit then
      local first = oldest(t)
      if first and first.u == user then replaced = first.c end
    end
    if tonumber(redis.call('HGET', t.users, user) or '0') - replaced + cost > maxUser then return -1, nil end
  end
  t.seq, t.appended = t.seq + 1, true
  local seqText = int(t.seq)
  if limit > 0 then
    redis.call('XADD', t.stream, seqText .. '-0', 'e', event, 'p', kept, 'i', id, 'x', exclude, 't', nowText, 'k', kind)
    redis.call('RPUSH', t.ledger, record(seqText, nowText, costText, user, id))
    t.bytes, t.len = t.bytes + cost, t.len + 1
    if user ~= '' then
      redis.call('HINCRBY', t.users, user, costText)
      t.wroteUsers = true
    end
    if id ~= '' then
      redis.call('HSET', t.ids, user .. '\\0' .. id, seqText)
      t.wroteIds = true
    end
  end
  return t.seq, seqText
end

for k = 1, #KEYS, 5 do
  local t = open(k, ARGV[a])
  local count = tonumber(ARGV[a + 1])
  a = a + 2
  if now - t.checked >= scanEvery then
    dropExpired(t, now - maxAge)
    t.scanned = now
  end
  out[#out + 1] = t.epoch
  local message = {'*', int(#t.epoch), ':', t.epoch}
  local applied = 0
  for _ = 1, count do
    local event, payload, id, exclude, user, kind = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], ARGV[a + 6]
    -- A folded entry (kind 'f…') keeps its position, not its payload; subscribers get it whole, of the
    -- kind without its 'f'.
    local kept, live = payload, kind
    if string.byte(kind, 1) == 102 then kept, live = '', string.sub(kind, 2) end
    local seq, seqText = publishOne(t, event, kept, id, exclude, user, tonumber(ARGV[a + 5]), ARGV[a + 5], kind)
    a = a + 7
    out[#out + 1] = seq
    if seqText then
      applied = applied + 1
      local n = #message
      message[n + 1], message[n + 2], message[n + 3] = int(#seqText), ':', seqText
      message[n + 4], message[n + 5], message[n + 6] = int(#event), ':', event
      message[n + 7], message[n + 8], message[n + 9] = int(#id), ':', id
      message[n + 10], message[n + 11], message[n + 12] = int(#exclude), ':', exclude
      message[n + 13], message[n + 14], message[n + 15] = int(#live), ':', live
      message[n + 16], message[n + 17], message[n + 18] = int(#payload), ':', payload
    end
  end
  settle(t)
  close(t, now, ttl, false, true)
  if applied > 0 then redis.call('SPUBLISH', string.sub(t.meta, 1, -2) .. 'b', table.concat(message)) end
end
return out
`;

/**
 * The topic's window and, when `limit` > 0, entries `from..to` (at most `limit`).
 *
 * KEYS: meta, stream, users, ids, ledger. ARGV: from, to, limit, now, maxAgeMs, candidate epoch, ttl (ms).
 *
 * Returns `{epoch, head, oldest, seq1, event1, payload1, id1, exclude1, time1, kind1, seq2, …}`.
 */
export const READ = `${TRIM}
local from, to, limit, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local t = open(1, ARGV[6])
dropExpired(t, now - tonumber(ARGV[5]))
local head = t.seq
local first = oldest(t)
local low = head + 1
if first then low = first.s end
close(t, now, tonumber(ARGV[7]), t.made or redis.call('PTTL', t.meta) < 0, false)
local out = {t.epoch, head, low}
local start, stop = math.max(from, low), math.min(to, head)
if limit > 0 and start <= stop then
  for _, e in ipairs(redis.call('XRANGE', t.stream, start .. '-0', stop .. '-0', 'COUNT', limit)) do
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
 * Gives back a claimed dedupe record that is still pending; a settled one (another attempt applied the id
 * after this one's lease lapsed) is kept.
 *
 * KEYS: record, index. ARGV: member (the record's name after the records' prefix).
 */
export const RELEASE = `
if redis.call('GET', KEYS[1]) ~= 'p' then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
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
