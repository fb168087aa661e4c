-- Where a lead can be sent: remote queues, incubation, service follow-up,
-- closed. Needs offline.lua (a route may be a referral).

-- The open lead of a customer is released when the lead closes.
local function release_customer(id)
  local c = redis.call('HGET', lead_key(id), 'customer')
  if c and redis.call('HGET', k(KEY.cmem, c), 'lead') == id then
    redis.call('HDEL', k(KEY.cmem, c), 'lead')
  end
end

-- Leaving the referral tier ends the referral episode (a lead not yet
-- placed has none).
local function end_episode(id)
  if not UNPLACED[id] then redis.call('DEL', k(KEY.tried, id)) end
end

-- `fields`: more lead fields to set with the owner (optional).
local function close(id, state, action, reason, fields)
  leave_place(id)
  if fields then
    redis.call('HSET', lead_key(id), 'owner', '', unpack(fields))
  else
    redis.call('HSET', lead_key(id), 'owner', '')
  end
  release_customer(id)
  set_state(id, state, action, reason)
  -- Kept for its retention, then moved to the outcome log (sweep_retire).
  redis.call('ZADD', k(KEY.retire), NOW + CFG.retention_ms, id)
end

-- Medium: the customer's own remote manager if registered in this shard and
-- qualified, else the region's team pool for the product.
local function enqueue_remote(id, action, reason, prefer_manager)
  local new = NEW_LEAD[id]
  local l = new and {new.score, new.product, new.remote_mgr}
    or redis.call('HMGET', lead_key(id), 'score', 'product', 'remote_mgr')
  local m = prefer_manager
  if m == nil or m == '' then m = l[3] end
  leave_place(id)
  end_episode(id)
  local kind, place, owner = 'remote_pool', k(KEY.pool, l[2]), ''
  if m and m ~= '' then
    local h = redis.call('HMGET', k(KEY.mgr, m), 'tier', 'products', 'available')
    if h[1] == 'remote' and h[3] == '1' and qualified(h[2], l[2]) then
      kind, place, owner = 'remote_personal', k(KEY.mq, m), m
    end
  end
  -- Queued is not held: no owner, but the manager whose own queue it is.
  enter_place(id, place, priority(l[1], NOW), nil, nil,
    {'owner', '', 'queue_manager', owner, 'queued_at', NOW, 'callback_at', ''})
  set_state(id, 'remote_queued', action, reason, owner)
  if owner == '' and qualified_count('remote', '', l[2]) == 0 then
    flag_unplaceable(id, 'no remote manager of this region is qualified for ' .. l[2])
  end
  return {kind = kind, manager = owner}
end

local function incubate(id, action, reason)
  leave_place(id)
  end_episode(id)
  enter_place(id, k(KEY.incubation), NOW + CFG.review_ms, nil, nil,
    {'owner', '', 'incubated_at', NOW})
  set_state(id, 'incubating', action, reason)
  return {kind = 'incubation'}
end

local function service_followup(id, action, reason)
  leave_place(id)
  end_episode(id)
  redis.call('HSET', lead_key(id), 'owner', '')
  enter_place(id, k(KEY.followup), NOW, nil, nil)
  set_state(id, 'service_followup', action, reason)
  return {kind = 'service_followup'}
end

-- A closing outcome recorded by manager `m` (remote or offline), who may
-- still read the lead for a while (`closed_by`).
local function close_with(id, outcome, note, m)
  local closing = {'closed_by', m, 'closed_at', NOW}
  if outcome == 'converted' then
    close(id, 'closed_converted', 'completed', note, closing)
  else
    close(id, 'closed_not_interested', 'completed', note, closing)
  end
  return {kind = 'closed'}
end

local function route(id, r, action, reason)
  if r == 'referral' then return offer_next(id, action, reason) end
  if r == 'remote' then return enqueue_remote(id, action, reason) end
  if r == 'incubation' then return incubate(id, action, reason) end
  if r == 'service_followup' then return service_followup(id, action, reason) end
  close(id, 'suppressed', action, reason ~= '' and reason or 'do not contact')
  return {kind = 'suppressed'}
end
