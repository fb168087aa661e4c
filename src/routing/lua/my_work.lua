--- @include "prelude"
--- @include "view"
-- What a manager has in this shard (read only): the leads it holds (leased
-- or accepted) with their deadlines, and the offers pending for it.
-- args: manager
local m = ARG.manager
local held = {}
for _, id in ipairs(redis.call('ZRANGE', k(KEY.held, m), 0, -1)) do
  local due = redis.call('ZSCORE', k(KEY.dl, KEY.lease), id)
    or redis.call('ZSCORE', k(KEY.dl, KEY.accepted), id)
  held[#held + 1] = {lead = view(id), due_at = tonumber(due) or 0}
end
local offers = {}
for _, id in ipairs(redis.call('ZRANGE', k(KEY.offers, m), 0, -1)) do
  offers[#offers + 1] = {lead = view(id),
    due_at = tonumber(redis.call('HGET', lead_key(id), 'offer_deadline')) or 0}
end
return ok({held = held, offers = offers})
