--- @include "prelude"
-- The customer's compliance memory (KEYS[1] is the CUSTOMER's anchor,
-- `<prefix>:{c:<customer>}`, not a region's): claims the customer's home
-- region if it has none yet (all of a customer's leads live there, so a
-- customer has at most one open lead anywhere), and answers what is
-- remembered. args: region
local state = k(KEY.state)
redis.call('HSETNX', state, 'home', ARG.region)
local f = redis.call('HMGET', state, 'home', 'dnc', 'complaint_until')
local contacts = k(KEY.contacts)
redis.call('ZREMRANGEBYSCORE', contacts, '-inf', NOW - CFG.contact_window_ms)
return ok({home = f[1], do_not_contact = f[2] == '1',
  complaint_until = tonumber(f[3]) or 0, complaint_active = (tonumber(f[3]) or 0) > NOW,
  recent_sales_contacts = redis.call('ZCARD', contacts)})
