--- @include "prelude"
--- @include "audit"
--- @include "places"
--- @include "offline"
--- @include "sweep"
-- Periodic retry of the branches' unassigned lists (capacity also frees
-- without an event this shard sees, e.g. in another shard). Each call walks
-- the next page of branches (SSCAN; the cursor is kept in `retry_scan`) and
-- stops after `limit` placements or its time budget, so no call grows with
-- the branch count.
-- args: limit
local cursor = k(KEY.retry_scan)
local page = redis.call('SSCAN', k(KEY.branches), redis.call('GET', cursor) or '0', 'COUNT', ARG.limit)
sweep_start()
local placed = 0
for _, b in ipairs(page[2]) do
  placed = placed + retry_unassigned(b)
  if placed >= ARG.limit or spent() then break end
end
redis.call('SET', cursor, page[1])
return swept(placed)
