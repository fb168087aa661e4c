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
local reason = ARG.reason or ''
leave_place(id)
redis.call('HSET', lead_key(id), 'owner', '')
return moved(id, offer_next(id, 'escalated', reason ~= '' and reason or ('escalated by ' .. m)))
