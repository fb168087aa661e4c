--- @include "prelude"
--- @include "view"
-- What a manager has in this shard: the leads it holds (leased
-- or accepted) with their deadlines, the offers pending for it, and its
-- call-backs that are due.
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
-- Due call-backs: when a call-back's time comes the sweeper queues the lead
-- in the manager's own queue (`mq`, which its next pull takes first) and
-- indexes it under `cbdue:<m>` with that time. An entry is live while the
-- lead is still in that queue from that very call-back (its `queued_at`);
-- stale ones (pulled, moved on) are dropped here. At most 50, oldest first.
local index = k(KEY.cbdue, m)
local callbacks = {}
local due = redis.call('ZRANGE', index, 0, 99, 'WITHSCORES')
for i = 1, #due, 2 do
  local id, at = due[i], due[i + 1]
  if redis.call('ZSCORE', k(KEY.mq, m), id)
      and tonumber(redis.call('HGET', lead_key(id), 'queued_at')) == tonumber(at) then
    if #callbacks < 50 then
      callbacks[#callbacks + 1] = {lead = view(id), due_at = tonumber(at)}
    end
  else
    redis.call('ZREM', index, id)
  end
end
return ok({held = held, offers = offers, callbacks = callbacks})
