--- @include "prelude"
--- @include "audit"
--- @include "places"
--- @include "offline"
--- @include "sweep"
-- Accept deadlines missed: the next eligible manager, never the same one twice.
-- args: limit
local done = 0
for _, id in ipairs(due(k(KEY.dl, KEY.offer))) do
  local l = redis.call('HMGET', lead_key(id), 'owner', 'branch')
  audit(id, 'offer_timed_out', 'referral_offered', 'referral_offered', 'accept deadline passed', l[1])
  offer_next(id, 'reoffered', 'offer to ' .. tostring(l[1]) .. ' timed out')
  retry_unassigned(l[2])
  done = done + 1
  if spent() then break end
end
return swept(done)
