--- @include "prelude"
--- @include "audit"
--- @include "places"
--- @include "offline"
--- @include "lifecycle"
--- @include "memory"
-- An admin sets or clears a customer's do-not-contact (setting it
-- suppresses the customer's open lead at once, whoever holds it) or ends a
-- complaint cool-off, in the customer's home region. Read only when nothing
-- is asked. args: customer, do_not_contact (optional bool), clear_complaint
local c = ARG.customer
if ARG.do_not_contact == true then
  remember_dnc(c, ACTOR)
  local id = redis.call('HGET', k(KEY.cmem, c), 'lead')
  if id then route(id, 'suppressed', 'suppressed', 'do-not-contact set by an admin') end
elseif ARG.do_not_contact == false then
  redis.call('HDEL', k(KEY.cmem, c), 'dnc', 'dnc_since', 'dnc_by')
end
if ARG.clear_complaint then
  redis.call('HDEL', k(KEY.cmem, c), 'complaint_until', 'complaint_by')
end
local mem = customer_of(c)
return ok({do_not_contact = mem.dnc, complaint_until = mem.complaint_until,
  complaint_active = mem.complaint_until > NOW, recent_sales_contacts = #mem.contacts})
