--- @include "prelude"
--- @include "places"
-- One page of this shard's queue statistics (read only): per queue, its
-- depth, per-bucket counts (kept in `qcount`) and the age of its oldest lead;
-- per manager, its load. Every figure is O(1) per queue, and a page walks at
-- most `count` managers or branches (SSCAN), so no call grows with the roster.
-- args: products, phase ('shard' | 'managers' | 'branches'), scan (SSCAN
-- cursor, '0' to start a phase), count
-- reply: queues, managers, next_phase (nil once done), next_scan
local out, loads = {}, {}

local function counts(key)
  local c = redis.call('HMGET', k(KEY.qcount), key .. '|high', key .. '|medium', key .. '|low')
  return {high = tonumber(c[1]) or 0, medium = tonumber(c[2]) or 0, low = tonumber(c[3]) or 0}
end

local function first(key)
  local f = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return f[1], f[2] and tonumber(f[2]) or nil
end

local function report(kind, owner, key, how)
  local depth = redis.call('ZCARD', key)
  if depth == 0 then return end
  local since
  if how == 'priority' then
    local _, t = first(age_index(key))
    since = t
  elseif how == 'time' then
    local _, t = first(key)
    since = t
  elseif how == 'offer' then
    local _, deadline = first(key)
    since = deadline and (deadline - CFG.offer_sla_ms)
  else -- by the lead's own timestamp, for sets ordered by a future time
    local id = first(key)
    since = id and tonumber(redis.call('HGET', lead_key(id), how))
  end
  out[#out + 1] = {queue = kind, owner = owner, depth = depth,
    oldest_age_ms = since and math.max(0, NOW - since) or 0, buckets = counts(key)}
end

if ARG.phase == 'shard' then
  for _, p in ipairs(ARG.products) do
    report('remote_pool', p, k(KEY.pool, p), 'priority')
  end
  -- Leads no registered manager could take: an alert, whatever queue holds them.
  local stuck = redis.call('ZCARD', k(KEY.unplaceable))
  if stuck > 0 then
    local _, t = first(k(KEY.unplaceable))
    out[#out + 1] = {queue = 'unplaceable', owner = '', depth = stuck,
      oldest_age_ms = math.max(0, NOW - t), buckets = {high = 0, medium = 0, low = 0}}
  end
  -- Incubation is ordered by next review: the age shown is that of the lead
  -- due first (approximately the oldest).
  report('incubation', '', k(KEY.incubation), 'incubated_at')
  report('service_followup', '', k(KEY.followup), 'time')
  report('remote_callback', '', k(KEY.callback), 'updated_at')
  return ok({queues = out, managers = loads, next_phase = 'managers', next_scan = '0'})
end

if ARG.phase == 'managers' then
  local page = redis.call('SSCAN', k(KEY.managers), ARG.scan, 'COUNT', ARG.count)
  for _, m in ipairs(page[2]) do
    report('remote_personal', m, k(KEY.mq, m), 'priority')
    report('referral_offered', m, k(KEY.offers, m), 'offer')
    local h = redis.call('HMGET', k(KEY.mgr, m), 'tier', 'capacity', 'available')
    loads[#loads + 1] = {manager = m, tier = h[1], capacity = tonumber(h[2]) or 0,
      available = h[3] == '1', held = redis.call('ZCARD', k(KEY.held, m)),
      pending_offers = redis.call('ZCARD', k(KEY.offers, m))}
  end
  if page[1] == '0' then
    return ok({queues = out, managers = loads, next_phase = 'branches', next_scan = '0'})
  end
  return ok({queues = out, managers = loads, next_phase = 'managers', next_scan = page[1]})
end

if ARG.phase == 'branches' then
  local page = redis.call('SSCAN', k(KEY.branches), ARG.scan, 'COUNT', ARG.count)
  for _, b in ipairs(page[2]) do
    for _, p in ipairs(ARG.products) do
      report('branch_unassigned', b .. '/' .. p, k(KEY.unassigned, b, p), 'time')
    end
  end
  if page[1] == '0' then return ok({queues = out, managers = loads}) end
  return ok({queues = out, managers = loads, next_phase = 'branches', next_scan = page[1]})
end
return fail('invalid_argument', 'unknown phase ' .. tostring(ARG.phase))
