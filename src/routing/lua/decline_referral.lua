--- @include "prelude"
--- @include "audit"
--- @include "places"
--- @include "offline"
--- @include "offer"
--- @include "record"
-- An offline manager declines a pending offer with a reason and its
-- category; the lead goes to the next eligible manager.
-- args: manager, lead, offer_id, reason, category
local m, id = ARG.manager, ARG.lead
local fp = ARG.category .. '|' .. ARG.reason
local replay = recorded(id, ARG.offer_id, 'decline', fp)
if replay then return replay end
local branch, err = check_offer(m, id, ARG.offer_id)
if err then return err end
CATEGORY = ARG.category
audit(id, 'declined', 'referral_offered', 'referral_offered', ARG.reason, m)
CATEGORY = nil
local dest = offer_next(id, 'reoffered', 'declined by ' .. m .. ': ' .. ARG.reason)
retry_unassigned(branch)
return moved_recorded(id, dest, ARG.offer_id, 'decline', fp)
