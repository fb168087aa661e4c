--- @include "prelude"
--- @include "view"
-- A page of one of this shard's watch lists (read only), oldest first:
-- `unassigned` (by back-flow deadline), `unplaceable` (by when flagged),
-- `reengage` (by when due). args: list, offset, count
local keys = {unassigned = k(KEY.dl, KEY.unassigned), unplaceable = k(KEY.unplaceable),
  reengage = k(KEY.reengage)}
local key = keys[ARG.list]
if not key then return fail('invalid_argument', 'unknown list ' .. tostring(ARG.list)) end
local items = {}
for _, id in ipairs(redis.call('ZRANGE', key, ARG.offset, ARG.offset + ARG.count - 1)) do
  items[#items + 1] = {lead = view(id), note = redis.call('HGET', lead_key(id), 'unplaceable') or ''}
end
return ok({items = items, total = redis.call('ZCARD', key)})
