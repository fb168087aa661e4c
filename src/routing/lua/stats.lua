-- Queue depths of this shard: per queue, depth, oldest age and a per-bucket
-- breakdown. Depth is exact; the breakdown reads at most ARGV[4] members per
-- queue (the reply says when it was cut).
-- ARGV[4] max members read per queue
local cap = tonumber(ARGV[4])
local out = {}

local function report(kind, owner, key, age_from_score)
  local depth = redis.call('ZCARD', key)
  if depth == 0 then return end
  local items = redis.call('ZRANGE', key, 0, cap - 1, 'WITHSCORES')
  local oldest, buckets = nil, {high = 0, medium = 0, low = 0}
  for i = 1, #items, 2 do
    local id, s = items[i], tonumber(items[i + 1])
    local since
    if age_from_score == 'priority' then since = s % 1e13
    elseif age_from_score == 'time' then since = s
    else since = tonumber(redis.call('HGET', lead_key(id), 'updated_at')) end
    if since and (oldest == nil or since < oldest) then oldest = since end
    local b = redis.call('HGET', lead_key(id), 'bucket')
    if b and buckets[b] then buckets[b] = buckets[b] + 1 end
  end
  out[#out + 1] = {queue = kind, owner = owner, depth = depth,
    oldest_age_ms = oldest and math.max(0, NOW - oldest) or 0,
    buckets = buckets, sampled = depth > cap}
end

for _, p in ipairs({'wealth', 'fund', 'deposit', 'insurance', 'credit_card', 'loan'}) do
  report('remote_pool', p, k('pool', p), 'priority')
end
for _, m in ipairs(redis.call('SMEMBERS', k('managers'))) do
  report('remote_personal', m, k('mq', m), 'priority')
  report('referral_offered', m, k('offers', m), 'state')
end
for _, b in ipairs(redis.call('SMEMBERS', k('branches'))) do
  report('branch_unassigned', b, k('unassigned', b), 'time')
end
report('incubation', '', k('incubation'), 'state')
report('service_followup', '', k('followup'), 'time')
report('remote_callback', '', k('callback'), 'state')

local loads = {}
for _, m in ipairs(redis.call('SMEMBERS', k('managers'))) do
  local h = redis.call('HMGET', k('mgr', m), 'tier', 'capacity', 'available')
  loads[#loads + 1] = {manager = m, tier = h[1], capacity = tonumber(h[2]) or 0,
    available = h[3] == '1', held = redis.call('ZCARD', k('held', m)),
    pending_offers = redis.call('ZCARD', k('offers', m))}
end
return cjson.encode({queues = out, managers = loads})
