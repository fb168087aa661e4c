--- @include "prelude"
--- @include "audit"
--- @include "places"
--- @include "offline"
--- @include "lifecycle"
--- @include "sweep"
-- Incubating leads due for review: closed when older than the configured
-- age, otherwise marked due for re-engagement and reviewed again later.
-- args: limit
local done = 0
for _, id in ipairs(due(k(KEY.incubation))) do
  local since = tonumber(redis.call('HGET', lead_key(id), 'incubated_at')) or NOW
  if NOW - since >= CFG.incubation_expiry_ms then
    close(id, 'closed_expired', 'expired', 'incubated longer than the configured age')
  else
    redis.call('ZADD', k(KEY.incubation), NOW + CFG.review_ms, id)
    -- Listed for re-engagement campaigns until it leaves incubation.
    redis.call('ZADD', k(KEY.reengage), 'NX', NOW, id)
    audit(id, 'review_due', 'incubating', 'incubating', 'due for re-engagement')
  end
  done = done + 1
  if spent() then break end
end
return swept(done)
