-- Register/update a manager in this shard, or change its availability.
-- ARGV[4] op: upsert|availability
--   upsert:       ARGV[5] manager JSON {id, display_name, tier, branch, team,
--                 products (",p1,p2,"), capacity, available, home_region}
--   availability: ARGV[5] manager id, ARGV[6] "1" or "0"
local op = ARGV[4]

-- Going away returns pending offers to others; accepted and leased leads stay.
local function withdraw_offers(m)
  local moved = 0
  for _, id in ipairs(redis.call('ZRANGE', k('offers', m), 0, -1)) do
    audit(id, 'offer_withdrawn', 'referral_offered', 'referral_offered', m .. ' became unavailable', m)
    offer_next(id, 'reoffered', m .. ' became unavailable')
    moved = moved + 1
  end
  return moved
end

-- A remote manager going away: its own queue goes to the team pools (the
-- leads it holds under a lease stay with it until they end).
local function release_personal_queue(m)
  local moved = 0
  for _, id in ipairs(redis.call('ZRANGE', k('mq', m), 0, -1)) do
    enqueue_remote(id, 'requeued', m .. ' became unavailable', '')
    moved = moved + 1
  end
  return moved
end

local function after_change(m, tier, branch, available)
  if tier ~= 'offline' then
    if available then return 0, 0 end
    return release_personal_queue(m), 0
  end
  if available then return 0, retry_unassigned(branch) end
  return withdraw_offers(m), 0
end

if op == 'upsert' then
  local g = cjson.decode(ARGV[5])
  local mk = k('mgr', g.id)
  local old = redis.call('HMGET', mk, 'tier', 'branch')
  if old[1] == 'offline' and old[2] and (g.tier ~= 'offline' or old[2] ~= g.branch) then
    redis.call('SREM', k('branch', old[2], 'offline'), g.id)
  end
  redis.call('HSET', mk, 'id', g.id, 'display_name', g.display_name, 'tier', g.tier,
    'branch', g.branch, 'team', g.team, 'products', g.products,
    'capacity', g.capacity, 'available', g.available and '1' or '0',
    'home_region', g.home_region, 'updated_at', NOW)
  if redis.call('HEXISTS', mk, 'last_assigned') == 0 then
    redis.call('HSET', mk, 'last_assigned', 0)
  end
  if g.tier == 'offline' then
    redis.call('SADD', k('branch', g.branch, 'offline'), g.id)
  end
  redis.call('SADD', k('managers'), g.id)
  local withdrawn, placed = after_change(g.id, g.tier, g.branch, g.available)
  return cjson.encode({withdrawn = withdrawn, placed = placed})
end

if op == 'availability' then
  local m, on = ARGV[5], ARGV[6] == '1'
  local mk = k('mgr', m)
  local h = redis.call('HMGET', mk, 'tier', 'branch')
  if not h[1] then return fail('not_found', 'manager ' .. m .. ' not found') end
  redis.call('HSET', mk, 'available', on and '1' or '0', 'updated_at', NOW)
  local withdrawn, placed = after_change(m, h[1], h[2], on)
  return cjson.encode({withdrawn = withdrawn, placed = placed})
end
return fail('bad_op', 'unknown op ' .. tostring(op))
