--- @include "prelude"
--- @include "audit"
--- @include "places"
--- @include "offline"
--- @include "lease"
-- A remote manager turns a leased lead into a referral to the customer's
-- branch. args: manager, lead, lease_id, reason
local m, id = ARG.manager, ARG.lead
local _, _, err = check_lease(m, id, ARG.lease_id)
if err then return err end
return moved(id, escalate(id, m, ARG.reason or ''))
