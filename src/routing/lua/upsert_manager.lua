--- @include "prelude"
--- @include "audit"
--- @include "places"
--- @include "offline"
--- @include "lifecycle"
--- @include "managers"
-- Registers or updates a manager in this shard.
-- args: id, display_name, tier, branch?, team?, products (",p1,p2,"),
--   capacity, available, home_region
local g = ARG
local mk = k(KEY.mgr, g.id)
local old = redis.call('HMGET', mk, 'tier', 'branch', 'products')
if old[1] == 'offline' and old[2] and (g.tier ~= 'offline' or old[2] ~= g.branch) then
  redis.call('SREM', k(KEY.branch, old[2], KEY.offline), g.id)
end
-- Keep the per-product counts of qualified managers (unplaceable leads).
count_qualified(old[1], old[2], old[3], -1)
count_qualified(g.tier, g.branch, g.products, 1)
redis.call('HSET', mk, 'id', g.id, 'display_name', g.display_name, 'tier', g.tier,
  'branch', g.branch or '', 'team', g.team or '', 'products', g.products,
  'capacity', g.capacity, 'available', g.available and '1' or '0',
  'home_region', g.home_region, 'updated_at', NOW)
if redis.call('HEXISTS', mk, 'last_assigned') == 0 then
  redis.call('HSET', mk, 'last_assigned', 0)
end
if g.tier == 'offline' then
  redis.call('SADD', k(KEY.branch, g.branch, KEY.offline), g.id)
end
redis.call('SADD', k(KEY.managers), g.id)
local changed = after_change(g.id, g.tier, g.branch, g.available)
changed.withdrawn = changed.withdrawn + reroute_unqualified(g.id, g.tier, g.products)
changed.placed = changed.placed + revisit_unplaceable()
return ok(changed)
