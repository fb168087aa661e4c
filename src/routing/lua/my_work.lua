--- @include "prelude"
--- @include "view"
-- What a manager has in this shard (read only): the leads it holds (leased
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
-- in the manager's own queue (`mq`, which its next pull takes first), as
-- `call_back_due`. Read from the head of that queue (bounded: a queue may be
-- long); `due_at` is when it came due. Later re-scores of the customer do
-- not hide it.
local QUIET_ACTIONS = {rescored = true, flagged_unplaceable = true}
local callbacks = {}
for _, id in ipairs(redis.call('ZRANGE', k(KEY.mq, m), 0, 199)) do
  local recent = redis.call('LRANGE', k(KEY.hist, id), -5, -1)
  for i = #recent, 1, -1 do
    local e = cjson.decode(recent[i])
    if not QUIET_ACTIONS[e.action] then
      if e.action == 'call_back_due' then
        callbacks[#callbacks + 1] = {lead = view(id), due_at = e.at}
      end
      break
    end
  end
  if #callbacks >= 50 then break end
end
return ok({held = held, offers = offers, callbacks = callbacks})
