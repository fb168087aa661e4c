--- @include "prelude"
--- @include "view"
-- What a manager has in this shard (read only): the leads it holds (leased
-- or accepted) with their deadlines, and the offers pending for it.
-- args: manager
local function listed(key, deadlines)
  local out = {}
  for _, id in ipairs(redis.call('ZRANGE', key, 0, -1)) do
    local due = deadlines and redis.call('ZSCORE', deadlines, id)
      or redis.call('HGET', lead_key(id), 'offer_deadline')
    out[#out + 1] = {lead = view(id), due_at = tonumber(due) or 0}
  end
  return out
end
local m = ARG.manager
local held = {}
for _, item in ipairs(listed(k(KEY.held, m), k(KEY.dl, KEY.lease))) do
  if item.due_at == 0 then
    item.due_at = tonumber(redis.call('ZSCORE', k(KEY.dl, KEY.accepted), item.lead.id)) or 0
  end
  held[#held + 1] = item
end
return ok({held = held, offers = listed(k(KEY.offers, m), nil)})
