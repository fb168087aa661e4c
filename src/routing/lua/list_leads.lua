--- @include "prelude"
--- @include "view"
-- A page of one of this shard's watch lists (read only), oldest first:
-- `unassigned` (by back-flow deadline), `unplaceable` (by when flagged),
-- `reengage` (by when due), `leases` (remote leases, soonest expiry first),
-- `callbacks` (scheduled call-backs, earliest first). args: list, offset, count
local keys = {unassigned = k(KEY.dl, KEY.unassigned), unplaceable = k(KEY.unplaceable),
  reengage = k(KEY.reengage), leases = k(KEY.dl, KEY.lease), callbacks = k(KEY.callback)}
local key = keys[ARG.list]
if not key then return fail('invalid_argument', 'unknown list ' .. tostring(ARG.list)) end
local items = {}
local r = redis.call('ZRANGE', key, ARG.offset, ARG.offset + ARG.count - 1, 'WITHSCORES')
for i = 1, #r, 2 do
  local id = r[i]
  items[#items + 1] = {lead = view(id), note = redis.call('HGET', lead_key(id), 'unplaceable') or '',
    at = tonumber(r[i + 1])}
end
return ok({items = items, total = redis.call('ZCARD', key)})
