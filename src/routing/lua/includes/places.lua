-- A lead is always in exactly one place: one sorted set named in its `place`
-- field (empty once closed), plus at most one deadline set named in
-- `deadline`. Per-queue, per-bucket counts (`qcount`) are kept as leads move,
-- so queue statistics never scan a queue.

-- Priority order of the remote queues: higher score first, then older first.
-- (100 - score) * 1e13 + ms keeps both inside a double's exact integer range.
local function priority(score, queued_at)
  return (100 - tonumber(score)) * 1e13 + queued_at
end

-- Priority queues (the remote pool per product, a manager's own queue) are
-- ordered by score first: each has an age index beside it, `qage:<queue>`
-- (lead -> queued_at), so its oldest lead is one ZRANGE away (queue_stats).
-- (`P`, the shard, is known only inside a call: nothing here is precomputed.)
local function age_index(place)
  local rest = string.sub(place, #P + 2)
  local head = string.match(rest, '^([^:]+):')
  if head == KEY.pool or head == KEY.mq then return k(KEY.qage) .. ':' .. rest end
  return nil
end

-- BUCKET and UNPLACED (prelude.lua): what this call knows of a lead's place.

-- Leaving a place also ends what was said about the lead there: that no
-- manager could take it (`unplaceable`), that it is due for re-engagement.
local function leave_place(id)
  if UNPLACED[id] then
    BUCKET[id] = UNPLACED[id]
    return ''
  end
  local lk = lead_key(id)
  local f = redis.call('HMGET', lk, 'place', 'deadline', 'bucket', 'unplaceable')
  BUCKET[id] = f[3] or ''
  if f[1] and f[1] ~= '' and redis.call('ZREM', f[1], id) == 1 then
    redis.call('HINCRBY', k(KEY.qcount), f[1] .. '|' .. BUCKET[id], -1)
    local age = age_index(f[1])
    if age then redis.call('ZREM', age, id) end
  end
  if f[2] and f[2] ~= '' then redis.call('ZREM', f[2], id) end
  if f[4] and f[4] ~= '' then
    redis.call('ZREM', k(KEY.unplaceable), id)
    redis.call('HDEL', lk, 'unplaceable')
  end
  if f[1] == k(KEY.incubation) then redis.call('ZREM', k(KEY.reengage), id) end
  redis.call('HSET', lk, 'place', '', 'deadline', '', 'queue_manager', '')
  local offered_to = f[1] and string.match(f[1], ':' .. KEY.offers .. ':(.+)$')
  if offered_to then nudge(offered_to) end
  return f[1] or ''
end

-- `fields`: more lead fields to set in the same write (optional).
local function enter_place(id, place, score, deadline_key, due, fields)
  UNPLACED[id] = nil
  if redis.call('ZADD', place, score, id) == 1 then
    local bucket = BUCKET[id] or redis.call('HGET', lead_key(id), 'bucket') or ''
    redis.call('HINCRBY', k(KEY.qcount), place .. '|' .. bucket, 1)
    local age = age_index(place)
    if age then redis.call('ZADD', age, NOW, id) end
  end
  if deadline_key then
    redis.call('ZADD', deadline_key, due, id)
  end
  if fields then
    redis.call('HSET', lead_key(id), 'place', place, 'deadline', deadline_key or '', unpack(fields))
  else
    redis.call('HSET', lead_key(id), 'place', place, 'deadline', deadline_key or '')
  end
end

-- Registered managers qualified for a product, available or not: 0 means no
-- manager could ever take such a lead here until the roster changes.
local function qualified_count(tier, branch, product)
  local field = tier == 'offline' and ('offline|' .. branch .. '|' .. product) or ('remote|' .. product)
  return tonumber(redis.call('HGET', k(KEY.qual), field)) or 0
end

local function flag_unplaceable(id, why)
  redis.call('HSET', lead_key(id), 'unplaceable', why)
  redis.call('ZADD', k(KEY.unplaceable), NOW, id)
  audit(id, 'flagged_unplaceable', STATE_OF[id], STATE_OF[id], why)
end

-- Manager load is derived, never counted: leads held plus pending offers.
local function load_of(m)
  return redis.call('ZCARD', k(KEY.held, m)) + redis.call('ZCARD', k(KEY.offers, m))
end
