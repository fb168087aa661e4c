--- @include "prelude"
--- @include "audit"
--- @include "places"
--- @include "offer"
-- An offline manager accepts a pending offer. args: manager, lead, offer_id
local m, id = ARG.manager, ARG.lead
local _, err = check_offer(m, id, ARG.offer_id)
if err then return err end
leave_place(id)
enter_place(id, k(KEY.held, m), NOW, nil, nil)
set_state(id, 'referral_accepted', 'accepted', '', m)
return ok({lead_id = id, state = 'referral_accepted'})
