--- @include "prelude"
--- @include "audit"
--- @include "places"
--- @include "offline"
--- @include "lifecycle"
--- @include "record"
-- An offline manager records the outcome of an accepted referral. The
-- accepted offer's id fences the call: a stale call from an earlier
-- acceptance of the same lead is refused.
-- args: manager, lead, offer_id, outcome (converted | not_interested |
--   return_to_remote | return_to_incubation), note
local m, id = ARG.manager, ARG.lead
local outcome, note = ARG.outcome, ARG.note or ''
local fp = outcome .. '|' .. note
local replay = recorded(id, 'done:' .. ARG.offer_id, 'complete_referral', fp)
if replay then return replay end
local l = redis.call('HMGET', lead_key(id), 'state', 'owner', 'branch', 'offer_id')
if not l[1] then return fail('not_found', 'lead ' .. id .. ' not found') end
if l[1] ~= 'referral_accepted' or l[2] ~= m or l[4] ~= ARG.offer_id then
  if redis.call('SISMEMBER', k(KEY.offered, id), m) == 1 then
    return fail('offer_gone', 'acceptance ' .. ARG.offer_id .. ' of ' .. id .. ' is not held by ' .. m)
  end
  return fail('not_owner', 'lead ' .. id .. ' was never offered to ' .. m)
end
local dest
if outcome == 'converted' or outcome == 'not_interested' then
  dest = close_with(id, outcome, note, m)
elseif outcome == 'return_to_remote' then
  dest = enqueue_remote(id, 'returned_to_remote', note ~= '' and note or ('handed back by ' .. m))
elseif outcome == 'return_to_incubation' then
  dest = incubate(id, 'returned_to_incubation', note)
else
  return fail('invalid_argument', 'unknown outcome ' .. tostring(outcome))
end
retry_unassigned(l[3])
return moved_recorded(id, dest, 'done:' .. ARG.offer_id, 'complete_referral', fp)
