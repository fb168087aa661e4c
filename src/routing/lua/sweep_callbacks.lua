--- @include "prelude"
--- @include "audit"
--- @include "places"
--- @include "offline"
--- @include "lifecycle"
--- @include "sweep"
-- Call-backs whose time came: to the manager's own queue (or the pool).
-- args: limit
-- A call-back that lands in the manager's own queue is also indexed under
-- `cbdue:<m>` (read by my_work: "my leads" lists due call-backs without
-- scanning the queue). Index entries whose lead left that queue since are
-- stale: each insertion drops up to 3 of the oldest, my_work drops those
-- it reads, so the index stays about as long as the live call-backs.
local function stale(m, id, at)
  return not redis.call('ZSCORE', k(KEY.mq, m), id)
    or tonumber(redis.call('HGET', lead_key(id), 'queued_at')) ~= tonumber(at)
end
local done = 0
for _, id in ipairs(due(k(KEY.callback))) do
  local m = redis.call('HGET', lead_key(id), 'callback_manager')
  local dest = enqueue_remote(id, 'call_back_due', 'call back time reached', m)
  if dest.kind == 'remote_personal' and dest.manager == m then
    local index = k(KEY.cbdue, m)
    local old = redis.call('ZRANGE', index, 0, 2, 'WITHSCORES')
    for i = 1, #old, 2 do
      if stale(m, old[i], old[i + 1]) then redis.call('ZREM', index, old[i]) end
    end
    redis.call('ZADD', index, NOW, id)
  end
  done = done + 1
  if spent() then break end
end
return swept(done)
