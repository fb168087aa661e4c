--- @include "prelude"
-- Remembers what an interaction told us about a customer (KEYS[1] is the
-- customer's anchor). Idempotent: a replayed interaction notes nothing new.
-- args: interaction_id, do_not_contact, complaint, sales_contact
local state = k(KEY.state)
if ARG.do_not_contact then
  redis.call('HSET', state, 'dnc', 1, 'dnc_since', NOW, 'dnc_by', ARG.interaction_id)
end
if ARG.complaint then
  local until_ = NOW + CFG.complaint_cooloff_ms
  if until_ > (tonumber(redis.call('HGET', state, 'complaint_until')) or 0) then
    redis.call('HSET', state, 'complaint_until', until_, 'complaint_by', ARG.interaction_id)
  end
end
if ARG.sales_contact then
  redis.call('ZADD', k(KEY.contacts), 'NX', NOW, ARG.interaction_id)
end
return ok({})
