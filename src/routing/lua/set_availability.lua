--- @include "prelude"
--- @include "audit"
--- @include "places"
--- @include "offline"
--- @include "lifecycle"
--- @include "managers"
-- Marks a manager (un)available in this shard. args: manager, available
local m = ARG.manager
local mk = k(KEY.mgr, m)
local h = redis.call('HMGET', mk, 'tier', 'branch')
if not h[1] then return fail('not_found', 'manager ' .. m .. ' not found') end
redis.call('HSET', mk, 'available', ARG.available and '1' or '0', 'updated_at', NOW)
return ok(after_change(m, h[1], h[2], ARG.available))
