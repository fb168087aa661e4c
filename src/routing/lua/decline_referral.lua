--- @include "prelude"
--- @include "audit"
--- @include "places"
--- @include "offline"
--- @include "offer"
--- @include "record"
-- An offline manager declines a pending offer with a reason; the lead goes
-- to the next eligible manager. args: manager, lead, offer_id, reason
local m, id = ARG.manager, ARG.lead
local replay = recorded(id, ARG.offer_id, 'decline', ARG.reason)
if replay then return replay end
local branch, err = check_offer(m, id, ARG.offer_id)
if err then return err end
audit(id, 'declined', 'referral_offered', 'referral_offered', ARG.reason, m)
local dest = offer_next(id, 'reoffered', 'declined by ' .. m .. ': ' .. ARG.reason)
retry_unassigned(branch)
return moved_recorded(id, dest, ARG.offer_id, 'decline', ARG.reason)
