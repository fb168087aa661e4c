--- @include "prelude"
--- @include "audit"
--- @include "places"
--- @include "offline"
--- @include "lifecycle"
--- @include "sweep"
-- Leases that ran out: back to the queue with one more attempt, or to
-- incubation after max_attempts. args: limit
local done = 0
for _, id in ipairs(due(k(KEY.dl, KEY.lease))) do
  local lk = lead_key(id)
  local l = redis.call('HMGET', lk, 'owner', 'pulled_from')
  local attempts = redis.call('HINCRBY', lk, 'attempts', 1)
  if attempts >= CFG.max_attempts then
    incubate(id, 'lease_expired', 'attempt ' .. attempts .. ' of ' .. CFG.max_attempts .. ' expired')
  else
    local personal = string.find(l[2] or '', ':' .. KEY.mq .. ':', 1, true) ~= nil
    enqueue_remote(id, 'lease_expired', 'lease of ' .. (l[1] or '') .. ' expired (attempt ' .. attempts .. ')',
      personal and l[1] or '')
  end
  done = done + 1
  if spent() then break end
end
return swept(done)
