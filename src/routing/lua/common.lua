-- Prelude shared by every funnel script (prepended at load time).
--
-- Calling convention of every script:
--   KEYS[1] = "<prefix>:{<region>}"  the shard anchor; every key the script
--             touches is derived from it, so all share ONE hash tag (slot).
--   ARGV[1] = now, ms since the epoch (the caller's clock, see routing::Clock)
--   ARGV[2] = actor for the audit trail ("robot", "manager:m1", "sweeper", ...)
--   ARGV[3] = routing config as JSON (deadlines, limits)
--   ARGV[4..] script specific.
-- Scripts return a JSON document; failures are {"err": code, "msg": text}
-- so that no partial write happens before an error is detected.
local P = KEYS[1]
local NOW = tonumber(ARGV[1])
local ACTOR = ARGV[2]
local CFG = cjson.decode(ARGV[3])

-- Key of this shard; written out (no varargs table) as it runs on every step.
local function k(a, b, c)
  if c then return P .. ':' .. a .. ':' .. b .. ':' .. c end
  if b then return P .. ':' .. a .. ':' .. b end
  return P .. ':' .. a
end
local function lead_key(id) return k('lead', id) end

-- Offline managers' watch streams are told when their offers change (a
-- nudge only: they re-read; nothing is lost if a message is).
local OFFERS_CHANNEL = string.match(P, '^(.*):{') .. ':offers'
local function nudge(m)
  redis.call('PUBLISH', OFFERS_CHANNEL, m)
end

local function fail(code, msg)
  return cjson.encode({err = code, msg = msg})
end

-- Priority order of the remote queues: higher score first, then older first.
-- (100 - score) * 1e13 + ms keeps both inside a double's exact integer range.
local function priority(score, queued_at)
  return (100 - tonumber(score)) * 1e13 + queued_at
end

-- Per-lead history (readable in order) and the shard's append-only stream.
-- `l` = the lead's probability, bucket, model_version, owner.
local function emit(id, action, from, to, reason, manager, l)
  local ev = cjson.encode({
    at = NOW, lead = id, actor = ACTOR, action = action,
    from = from or '', to = to or '', reason = reason or '',
    probability = tonumber(l[1]) or 0, bucket = l[2] or '',
    model_version = l[3] or '', manager = manager or l[4] or ''
  })
  redis.call('RPUSH', k('hist', id), ev)
  redis.call('XADD', k('audit'), 'MAXLEN', '~', CFG.audit_maxlen, '*', 'lead', id, 'event', ev)
end

local function audit(id, action, from, to, reason, manager)
  emit(id, action, from, to, reason, manager,
    redis.call('HMGET', lead_key(id), 'probability', 'bucket', 'model_version', 'owner'))
end

-- A lead is always in exactly one place: one sorted set named in its `place`
-- field (empty once closed), plus at most one deadline set named in `deadline`.
-- Bucket of a lead read by leave_place, reused by enter_place in the same
-- script (the bucket does not change in between).
local BUCKET = {}

local function leave_place(id)
  local lk = lead_key(id)
  local f = redis.call('HMGET', lk, 'place', 'deadline', 'bucket')
  BUCKET[id] = f[3] or ''
  if f[1] and f[1] ~= '' and redis.call('ZREM', f[1], id) == 1 then
    redis.call('HINCRBY', k('qcount'), f[1] .. '|' .. BUCKET[id], -1)
  end
  if f[2] and f[2] ~= '' then redis.call('ZREM', f[2], id) end
  redis.call('HSET', lk, 'place', '', 'deadline', '')
  local offered_to = f[1] and string.match(f[1], ':offers:(.+)$')
  if offered_to then nudge(offered_to) end
  return f[1] or ''
end

-- Per-queue, per-bucket counts are kept as leads move, so queue statistics
-- never have to scan a queue.
local function enter_place(id, place, score, deadline_key, due)
  if redis.call('ZADD', place, score, id) == 1 then
    local bucket = BUCKET[id] or redis.call('HGET', lead_key(id), 'bucket') or ''
    redis.call('HINCRBY', k('qcount'), place .. '|' .. bucket, 1)
  end
  if deadline_key then
    redis.call('ZADD', deadline_key, due, id)
  end
  redis.call('HSET', lead_key(id), 'place', place, 'deadline', deadline_key or '')
end

local function set_state(id, to, action, reason, manager)
  local lk = lead_key(id)
  local l = redis.call('HMGET', lk, 'state', 'probability', 'bucket', 'model_version', 'owner')
  redis.call('HSET', lk, 'state', to, 'updated_at', NOW)
  emit(id, action, l[1], to, reason, manager, {l[2], l[3], l[4], l[5]})
end

-- Manager load is derived, never counted: leads held plus pending offers.
local function load_of(m)
  return redis.call('ZCARD', k('held', m)) + redis.call('ZCARD', k('offers', m))
end

local function qualified(products, product)
  return products and string.find(products, ',' .. product .. ',', 1, true) ~= nil
end

-- The open lead of a customer is released when the lead closes.
local function release_customer(id)
  local c = redis.call('HGET', lead_key(id), 'customer')
  if c and redis.call('GET', k('cust', c)) == id then
    redis.call('DEL', k('cust', c))
  end
end

local function close(id, state, action, reason)
  leave_place(id)
  redis.call('HSET', lead_key(id), 'owner', '')
  release_customer(id)
  set_state(id, state, action, reason)
end

-- Eligible offline manager for a lead: same branch, qualified for the product,
-- available, under capacity, not offered this lead before. The customer's own
-- manager wins; otherwise the least loaded, ties to the longest idle.
local function pick_offline(id)
  local l = redis.call('HMGET', lead_key(id), 'branch', 'product', 'rm')
  local branch, product, rm = l[1], l[2], l[3]
  local tried = k('tried', id)
  local best, best_load, best_idle = nil, nil, nil
  for _, m in ipairs(redis.call('SMEMBERS', k('branch', branch, 'offline'))) do
    if redis.call('SISMEMBER', tried, m) == 0 then
      local h = redis.call('HMGET', k('mgr', m), 'available', 'capacity', 'products', 'last_assigned')
      if h[1] == '1' and qualified(h[3], product) then
        local load = load_of(m)
        if load < tonumber(h[2]) then
          if m == rm then return m end
          local idle = tonumber(h[4]) or 0
          if best == nil or load < best_load or (load == best_load and idle < best_idle)
              or (load == best_load and idle == best_idle and m < best) then
            best, best_load, best_idle = m, load, idle
          end
        end
      end
    end
  end
  return best
end

local function offer_to(id, m, action, reason)
  local lk = lead_key(id)
  local n = redis.call('HINCRBY', lk, 'offers_made', 1)
  local offer_id = id .. '#' .. n
  local deadline = NOW + CFG.offer_sla_ms
  leave_place(id)
  enter_place(id, k('offers', m), deadline, k('dl', 'offer'), deadline)
  redis.call('HSET', lk, 'owner', m, 'offer_id', offer_id, 'offer_deadline', deadline)
  -- `tried`: offered in this referral episode (never the same one twice);
  -- `offered`: ever offered (tells a stale offer from a stranger's request).
  redis.call('SADD', k('tried', id), m)
  redis.call('SADD', k('offered', id), m)
  redis.call('HSET', k('mgr', m), 'last_assigned', NOW)
  set_state(id, 'referral_offered', action, reason, m)
  nudge(m)
  return offer_id
end

-- Offer to the next eligible manager, else park in the branch's unassigned
-- list (retried when capacity frees, flows back to remote after a wait).
local function offer_next(id, action, reason)
  local m = pick_offline(id)
  if m then
    offer_to(id, m, action, reason)
    return {kind = 'referral_offered', manager = m}
  end
  local branch = redis.call('HGET', lead_key(id), 'branch')
  leave_place(id)
  redis.call('HSET', lead_key(id), 'owner', '')
  enter_place(id, k('unassigned', branch), NOW, k('dl', 'unassigned'), NOW + CFG.backflow_ms)
  set_state(id, 'branch_unassigned', action, reason ~= '' and reason or 'no eligible offline manager')
  return {kind = 'branch_unassigned', manager = ''}
end

-- Capacity freed or a manager became available in `branch`: place the oldest
-- unassigned leads that now have an eligible manager.
local function retry_unassigned(branch)
  local placed = 0
  -- Oldest first; a lead nobody can take (product, everyone tried) does not
  -- block the ones behind it. Bounded work per call.
  for _, id in ipairs(redis.call('ZRANGE', k('unassigned', branch), 0, 19)) do
    local m = pick_offline(id)
    if m then
      offer_to(id, m, 'offered', 'retry from branch unassigned list')
      placed = placed + 1
    end
  end
  return placed
end

-- Medium: the customer's own remote manager if registered in this shard and
-- qualified, else the region's team pool for the product.
local function enqueue_remote(id, action, reason, prefer_manager)
  local l = redis.call('HMGET', lead_key(id), 'score', 'product', 'remote_mgr')
  local m = prefer_manager
  if m == nil or m == '' then m = l[3] end
  leave_place(id)
  -- Leaving the referral tier ends the referral episode.
  redis.call('DEL', k('tried', id))
  local kind, place, owner = 'remote_pool', k('pool', l[2]), ''
  if m and m ~= '' then
    local h = redis.call('HMGET', k('mgr', m), 'tier', 'products', 'available')
    if h[1] == 'remote' and h[3] == '1' and qualified(h[2], l[2]) then
      kind, place, owner = 'remote_personal', k('mq', m), m
    end
  end
  enter_place(id, place, priority(l[1], NOW), nil, nil)
  -- Queued is not held: no owner, but the manager whose own queue it is.
  redis.call('HSET', lead_key(id), 'owner', '', 'queue_manager', owner, 'queued_at', NOW)
  set_state(id, 'remote_queued', action, reason, owner)
  return {kind = kind, manager = owner}
end

local function incubate(id, action, reason)
  leave_place(id)
  redis.call('DEL', k('tried', id))
  redis.call('HSET', lead_key(id), 'owner', '', 'incubated_at', NOW)
  enter_place(id, k('incubation'), NOW + CFG.review_ms, nil, nil)
  set_state(id, 'incubating', action, reason)
  return {kind = 'incubation', manager = ''}
end

local function service_followup(id, action, reason)
  leave_place(id)
  redis.call('DEL', k('tried', id))
  redis.call('HSET', lead_key(id), 'owner', '')
  enter_place(id, k('followup'), NOW, nil, nil)
  set_state(id, 'service_followup', action, reason)
  return {kind = 'service_followup', manager = ''}
end

local function route(id, r, action, reason)
  if r == 'referral' then return offer_next(id, action, reason) end
  if r == 'remote' then return enqueue_remote(id, action, reason) end
  if r == 'incubation' then return incubate(id, action, reason) end
  if r == 'service_followup' then return service_followup(id, action, reason) end
  if r == 'suppressed' then
    close(id, 'suppressed', action, reason ~= '' and reason or 'do not contact')
    return {kind = 'suppressed', manager = ''}
  end
  error('unknown route ' .. tostring(r))
end

-- Tier of a place, for "a lead may move up a tier, never down by a re-score".
-- A service follow-up ranks below all: a later call that is not a complaint
-- routes the lead again.
local TIER_OF_STATE = {
  service_followup = -1, incubating = 0, remote_queued = 1, remote_callback = 1,
  branch_unassigned = 2, referral_offered = 2,
}
local TIER_OF_ROUTE = {incubation = 0, remote = 1, referral = 2}
