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
-- Qualification and availability count at the moment of assignment.
local h = redis.call('HMGET', k(KEY.mgr, m), 'available', 'products')
if h[1] ~= '1' then return fail('unavailable', 'manager ' .. m .. ' is marked unavailable') end
local product = redis.call('HGET', lead_key(id), 'product')
if not qualified(h[2], product) then
  return fail('not_qualified', 'manager ' .. m .. ' is not qualified for ' .. product)
end
-- An accepted referral is bounded too: a reminder, then back to the pool.
leave_place(id)
enter_place(id, k(KEY.held, m), NOW, k(KEY.dl, KEY.accepted), NOW + CFG.accepted_followup_ms)
redis.call('HSET', lead_key(id), 'reminded', 0)
set_state(id, 'referral_accepted', 'accepted', '', m)
return record(id, ARG.offer_id, 'accept', '', {lead_id = id, state = 'referral_accepted'})
