--- @include "prelude"
--- @include "audit"
--- @include "places"
--- @include "offline"
-- Periodic retry of every branch's unassigned lists (capacity also frees
-- without an event this shard sees, e.g. in another shard). args: limit
local placed = 0
for _, b in ipairs(redis.call('SMEMBERS', k(KEY.branches))) do
  if placed >= ARG.limit then break end
  placed = placed + retry_unassigned(b)
end
return ok({done = placed})
