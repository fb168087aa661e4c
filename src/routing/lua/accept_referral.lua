--- @include "prelude"
--- @include "audit"
--- @include "places"
--- @include "offer"
--- @include "record"
-- An offline manager accepts a pending offer. args: manager, lead, offer_id
-- The offer id then fences the acceptance (CompleteReferral).
local m, id = ARG.manager, ARG.lead
local replay = recorded(id, ARG.offer_id, 'accept', '')
if replay then return replay end
local _, err = check_offer(m, id, ARG.offer_id)
if err then return err end
leave_place(id)
enter_place(id, k(KEY.held, m), NOW, nil, nil)
set_state(id, 'referral_accepted', 'accepted', '', m)
return record(id, ARG.offer_id, 'accept', '', {lead_id = id, state = 'referral_accepted'})
