--- @include "prelude"
--- @include "audit"
--- @include "places"
--- @include "offline"
--- @include "lifecycle"
--- @include "sweep"
-- Call-backs whose time came: to the manager's own queue (or the pool).
-- args: limit
local done = 0
for _, id in ipairs(due(k(KEY.callback))) do
  local m = redis.call('HGET', lead_key(id), 'callback_manager')
  enqueue_remote(id, 'call_back_due', 'call back time reached', m)
  done = done + 1
end
return ok({done = done})
