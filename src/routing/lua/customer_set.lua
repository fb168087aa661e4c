--- @include "prelude"
-- An admin sets or clears a customer's do-not-contact flag and may end a
-- complaint cool-off (KEYS[1] is the customer's anchor). Answers the state.
-- args: do_not_contact (optional bool), clear_complaint
local state = k(KEY.state)
if ARG.do_not_contact == true then
  redis.call('HSET', state, 'dnc', 1, 'dnc_since', NOW, 'dnc_by', ACTOR)
elseif ARG.do_not_contact == false then
  redis.call('HDEL', state, 'dnc', 'dnc_since', 'dnc_by')
end
if ARG.clear_complaint then
  redis.call('HDEL', state, 'complaint_until', 'complaint_by')
end
local f = redis.call('HMGET', state, 'home', 'dnc', 'complaint_until')
return ok({home = f[1], do_not_contact = f[2] == '1',
  complaint_until = tonumber(f[3]) or 0, complaint_active = (tonumber(f[3]) or 0) > NOW,
  recent_sales_contacts = redis.call('ZCOUNT', k(KEY.contacts), NOW - CFG.contact_window_ms, '+inf')})
