-- Referrals to offline (branch) managers.

-- Eligible offline manager for a lead: same branch, qualified for the product,
-- available, under capacity, not offered this lead before. The customer's own
-- manager wins; otherwise the least loaded, ties to the longest idle.
local function pick_offline(id)
  local l = redis.call('HMGET', lead_key(id), 'branch', 'product', 'rm')
  local branch, product, rm = l[1], l[2], l[3]
  local tried = k(KEY.tried, id)
  local best, best_load, best_idle = nil, nil, nil
  for _, m in ipairs(redis.call('SMEMBERS', k(KEY.branch, branch, KEY.offline))) do
    if redis.call('SISMEMBER', tried, m) == 0 then
      local h = redis.call('HMGET', k(KEY.mgr, m), 'available', 'capacity', 'products', 'last_assigned')
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
  enter_place(id, k(KEY.offers, m), deadline, k(KEY.dl, KEY.offer), deadline)
  redis.call('HSET', lk, 'owner', m, 'offer_id', offer_id, 'offer_deadline', deadline)
  -- `tried`: offered in this referral episode (never the same one twice);
  -- `offered`: ever offered (tells a stale offer from a stranger's request).
  redis.call('SADD', k(KEY.tried, id), m)
  redis.call('SADD', k(KEY.offered, id), m)
  redis.call('HSET', k(KEY.mgr, m), 'last_assigned', NOW)
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
  local l = redis.call('HMGET', lead_key(id), 'branch', 'product')
  leave_place(id)
  redis.call('HSET', lead_key(id), 'owner', '')
  enter_place(id, k(KEY.unassigned, l[1], l[2]), NOW, k(KEY.dl, KEY.unassigned), NOW + CFG.backflow_ms)
  set_state(id, 'branch_unassigned', action, reason ~= '' and reason or 'no eligible offline manager')
  if qualified_count('offline', l[1], l[2]) == 0 then
    flag_unplaceable(id, 'no offline manager of branch ' .. l[1] .. ' is qualified for ' .. l[2])
  end
  return {kind = 'branch_unassigned'}
end

-- A remote manager refers a lead it holds to the customer's branch.
local function escalate(id, m, reason)
  leave_place(id)
  redis.call('HSET', lead_key(id), 'owner', '')
  return offer_next(id, 'escalated', reason ~= '' and reason or ('escalated by ' .. m))
end

-- Capacity freed or a manager became available in `branch`: place the oldest
-- unassigned leads that now have an eligible manager, fairly: the unassigned
-- list is one per product, and each product's head is tried (a few each), so
-- leads nobody can take never keep the others waiting.
local PRODUCTS = {'wealth', 'fund', 'deposit', 'insurance', 'credit_card', 'loan'}
local function retry_unassigned(branch)
  local placed = 0
  for _, p in ipairs(PRODUCTS) do
    if qualified_count('offline', branch, p) > 0 then
      for _, id in ipairs(redis.call('ZRANGE', k(KEY.unassigned, branch, p), 0, 4)) do
        local m = pick_offline(id)
        if not m then break end
        offer_to(id, m, 'offered', 'retry from branch unassigned list')
        placed = placed + 1
      end
    end
  end
  return placed
end
