--- @include "prelude"
-- Queue depths of this shard (read only): per queue, depth, per-bucket
-- counts (kept incrementally in `qcount`) and the age of the oldest lead,
-- plus each manager's load.
local out = {}

local function counts(key)
  local c = redis.call('HMGET', k(KEY.qcount), key .. '|high', key .. '|medium', key .. '|low')
  return {high = tonumber(c[1]) or 0, medium = tonumber(c[2]) or 0, low = tonumber(c[3]) or 0}
end

local function first_score(key)
  local f = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return f[2] and tonumber(f[2]) or nil, f[1]
end

-- Priority queues order by (100 - score) * 1e13 + queued_at: the oldest lead
-- is the earliest of the first entries of the 101 score bands.
local function oldest_in_priority_queue(key)
  local oldest = nil
  for s = 0, 100 do
    local lo = (100 - s) * 1e13
    local f = redis.call('ZRANGEBYSCORE', key, lo, '(' .. (lo + 1e13), 'WITHSCORES', 'LIMIT', 0, 1)
    if f[2] then
      local t = tonumber(f[2]) - lo
      if oldest == nil or t < oldest then oldest = t end
    end
  end
  return oldest
end

local function report(kind, owner, key, how)
  local depth = redis.call('ZCARD', key)
  if depth == 0 then return end
  local since
  if how == 'priority' then
    since = oldest_in_priority_queue(key)
  elseif how == 'time' then
    since = first_score(key)
  elseif how == 'offer' then
    local deadline = first_score(key)
    since = deadline and (deadline - CFG.offer_sla_ms)
  else -- by the lead's own timestamp, for sets ordered by a future time
    local _, id = first_score(key)
    since = id and tonumber(redis.call('HGET', lead_key(id), how))
  end
  out[#out + 1] = {queue = kind, owner = owner, depth = depth,
    oldest_age_ms = since and math.max(0, NOW - since) or 0, buckets = counts(key)}
end

for _, p in ipairs(ARG.products) do
  report('remote_pool', p, k(KEY.pool, p), 'priority')
end
local managers = redis.call('SMEMBERS', k(KEY.managers))
for _, m in ipairs(managers) do
  report('remote_personal', m, k(KEY.mq, m), 'priority')
  report('referral_offered', m, k(KEY.offers, m), 'offer')
end
for _, b in ipairs(redis.call('SMEMBERS', k(KEY.branches))) do
  for _, p in ipairs(ARG.products) do
    report('branch_unassigned', b .. '/' .. p, k(KEY.unassigned, b, p), 'time')
  end
end
-- Leads no registered manager could take: an alert, whatever queue holds them.
local stuck = redis.call('ZCARD', k(KEY.unplaceable))
if stuck > 0 then
  local first = redis.call('ZRANGE', k(KEY.unplaceable), 0, 0, 'WITHSCORES')
  out[#out + 1] = {queue = 'unplaceable', owner = '', depth = stuck,
    oldest_age_ms = math.max(0, NOW - tonumber(first[2])), buckets = {high = 0, medium = 0, low = 0}}
end
-- Incubation is ordered by next review: the age shown is that of the lead
-- due first (approximately the oldest).
report('incubation', '', k(KEY.incubation), 'incubated_at')
report('service_followup', '', k(KEY.followup), 'time')
report('remote_callback', '', k(KEY.callback), 'updated_at')

local loads = {}
for _, m in ipairs(managers) do
  local h = redis.call('HMGET', k(KEY.mgr, m), 'tier', 'capacity', 'available')
  loads[#loads + 1] = {manager = m, tier = h[1], capacity = tonumber(h[2]) or 0,
    available = h[3] == '1', held = redis.call('ZCARD', k(KEY.held, m)),
    pending_offers = redis.call('ZCARD', k(KEY.offers, m))}
end
return ok({queues = out, managers = loads})
