--- @include "prelude"
--- @include "audit"
--- @include "places"
--- @include "offline"
--- @include "lifecycle"
--- @include "sweep"
-- Accepted referrals with no outcome in time: first a reminder (audit event,
-- the manager's watch is nudged) and a grace period; then the lead goes back
-- to the remote pool. args: limit
local done = 0
for _, id in ipairs(due(k(KEY.dl, KEY.accepted))) do
  local f = redis.call('HMGET', lead_key(id), 'owner', 'reminded')
  local m = f[1] or ''
  if f[2] ~= '1' then
    redis.call('HSET', lead_key(id), 'reminded', 1)
    redis.call('ZADD', k(KEY.dl, KEY.accepted), NOW + CFG.accepted_grace_ms, id)
    audit(id, 'followup_reminder', 'referral_accepted', 'referral_accepted', 'no outcome recorded yet', m)
    nudge(m)
  else
    enqueue_remote(id, 'acceptance_expired', 'no outcome from ' .. m .. ' in time', '')
  end
  done = done + 1
  if spent() then break end
end
return swept(done)
