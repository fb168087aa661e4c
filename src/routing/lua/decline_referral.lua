--- @include "prelude"
--- @include "audit"
--- @include "places"
--- @include "offline"
-- An offline manager declines a pending offer with a reason; the lead goes
-- to the next eligible manager. args: manager, lead, offer_id, reason
local m, id = ARG.manager, ARG.lead
local l = redis.call('HMGET', lead_key(id), 'state', 'owner', 'offer_id', 'offer_deadline', 'branch')
if not l[1] then return fail('not_found', 'lead ' .. id .. ' not found') end
if l[1] ~= 'referral_offered' or l[2] ~= m or l[3] ~= ARG.offer_id then
  if redis.call('SISMEMBER', k(KEY.offered, id), m) == 1 then
    return fail('offer_gone', 'offer ' .. ARG.offer_id .. ' is no longer yours')
  end
  return fail('not_owner', 'lead ' .. id .. ' was never offered to ' .. m)
end
if tonumber(l[4]) <= NOW then
  return fail('offer_gone', 'offer ' .. ARG.offer_id .. ' passed its accept deadline')
end
audit(id, 'declined', 'referral_offered', 'referral_offered', ARG.reason, m)
local dest = offer_next(id, 'reoffered', 'declined by ' .. m .. ': ' .. ARG.reason)
retry_unassigned(l[5])
return moved(id, dest)
