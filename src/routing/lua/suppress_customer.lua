--- @include "prelude"
--- @include "audit"
--- @include "places"
--- @include "offline"
--- @include "lifecycle"
-- An admin marked a customer do-not-contact: its open lead in this (home)
-- region is suppressed at once, whoever holds it. args: customer, reason
local id = redis.call('GET', k(KEY.cust, ARG.customer))
if not id then return ok({suppressed = false}) end
route(id, 'suppressed', 'suppressed', ARG.reason)
return ok({suppressed = true, lead_id = id})
