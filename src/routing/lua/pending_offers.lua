--- @include "prelude"
-- The referrals currently offered to an offline manager in this shard,
-- oldest deadline first (read only). args: manager
local offers = {}
local items = redis.call('ZRANGE', k(KEY.offers, ARG.manager), 0, -1, 'WITHSCORES')
for i = 1, #items, 2 do
  local id = items[i]
  offers[#offers + 1] = {lead_id = id, offer_id = redis.call('HGET', lead_key(id), 'offer_id'),
    accept_by = tonumber(items[i + 1])}
end
return ok({offers = offers})
