--- @include "prelude"
--- @include "audit"
--- @include "sweep"
-- Offers about to time out: one `offer_expiring` audit event per offer (the
-- `referral.expiring` webhook) once its accept deadline is within
-- CFG.offer_warn_ms. The cursor (`expiring`: a deadline; every offer due
-- before it was looked at) keeps each pass to the offers not seen yet, so a
-- pass stays bounded however many offers are pending; the lead's
-- `warned_offer` fences a second warning of the same offer (a re-offer has a
-- new offer id and is warned again). Offers due at the cursor itself are
-- read again (paged), so many offers with one deadline are all warned.
-- args: limit (warnings per pass; at most 10 × limit offers are read)
if CFG.offer_warn_ms <= 0 then return ok({done = 0, more = false}) end
sweep_start()
local cursor = k(KEY.expiring)
local from = math.max(tonumber(redis.call('GET', cursor)) or 0, NOW)
local upto = NOW + CFG.offer_warn_ms
local done, seen, last, offset = 0, 0, from, 0
while true do
  local page = redis.call('ZRANGEBYSCORE', k(KEY.dl, KEY.offer), from, upto,
    'WITHSCORES', 'LIMIT', offset, ARG.limit)
  for i = 1, #page, 2 do
    local id, at = page[i], tonumber(page[i + 1])
    last, seen = at, seen + 1
    local lk = lead_key(id)
    local l = redis.call('HMGET', lk, 'state', 'offer_id', 'warned_offer', 'owner')
    if l[1] == 'referral_offered' and l[2] and l[2] ~= l[3] then
      redis.call('HSET', lk, 'warned_offer', l[2])
      audit(id, 'offer_expiring', 'referral_offered', 'referral_offered',
        'accept deadline in ' .. math.ceil((at - NOW) / 1000) .. ' s', l[4])
      done = done + 1
    end
    if spent() then break end
  end
  if OUT_OF_TIME then break end
  -- The whole window seen: the next pass starts at its end.
  if #page / 2 < ARG.limit then last = upto; break end
  if done >= ARG.limit or seen >= 10 * ARG.limit then break end
  offset = offset + ARG.limit
end
redis.call('SET', cursor, string.format('%.0f', last))
return swept(done)
