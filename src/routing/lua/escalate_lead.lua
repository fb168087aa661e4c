--- @include "prelude"
--- @include "audit"
--- @include "places"
--- @include "offline"
--- @include "lease"
--- @include "record"
-- A remote manager turns a leased lead into a referral to the customer's
-- branch. args: manager, lead, lease_id, reason
local m, id = ARG.manager, ARG.lead
local reason = ARG.reason or ''
local replay = recorded(id, ARG.lease_id, 'escalate', reason)
if replay then return replay end
local _, _, err = check_lease(m, id, ARG.lease_id)
if err then return err end
return moved_recorded(id, escalate(id, m, reason), ARG.lease_id, 'escalate', reason)
