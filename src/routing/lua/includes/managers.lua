-- What follows a change of a manager's availability or registration.

-- An offline manager going away: pending offers and accepted referrals go
-- to the next eligible manager (never back to this one in the episode).
local function withdraw_offers(m)
  local moved_n = 0
  for _, id in ipairs(redis.call('ZRANGE', k(KEY.offers, m), 0, -1)) do
    audit(id, 'offer_withdrawn', 'referral_offered', 'referral_offered', m .. ' became unavailable', m)
    offer_next(id, 'reoffered', m .. ' became unavailable')
    moved_n = moved_n + 1
  end
  for _, id in ipairs(redis.call('ZRANGE', k(KEY.held, m), 0, -1)) do
    audit(id, 'acceptance_handed_on', 'referral_accepted', 'referral_accepted', m .. ' became unavailable', m)
    offer_next(id, 'reoffered', m .. ' became unavailable')
    moved_n = moved_n + 1
  end
  return moved_n
end

-- Qualifications changed: whatever this manager is offered, holds or has
-- queued for a product it may no longer sell goes back through routing.
local function reroute_unqualified(m, tier, products)
  local moved_n = 0
  local function unqualified(id)
    return not qualified(products, redis.call('HGET', lead_key(id), 'product'))
  end
  local why = m .. ' is no longer qualified for the product'
  if tier == 'offline' then
    for _, key in ipairs({k(KEY.offers, m), k(KEY.held, m)}) do
      for _, id in ipairs(redis.call('ZRANGE', key, 0, -1)) do
        if unqualified(id) then
          audit(id, 'assignment_revoked', '', '', why, m)
          offer_next(id, 'reoffered', why)
          moved_n = moved_n + 1
        end
      end
    end
  else
    for _, key in ipairs({k(KEY.mq, m), k(KEY.held, m)}) do
      for _, id in ipairs(redis.call('ZRANGE', key, 0, -1)) do
        if unqualified(id) then
          enqueue_remote(id, 'requeued', why, '')
          moved_n = moved_n + 1
        end
      end
    end
  end
  return moved_n
end

-- A remote manager going away: its own queue goes to the team pools (the
-- leads it holds under a lease stay with it until they end).
local function release_personal_queue(m)
  local moved_n = 0
  for _, id in ipairs(redis.call('ZRANGE', k(KEY.mq, m), 0, -1)) do
    enqueue_remote(id, 'requeued', m .. ' became unavailable', '')
    moved_n = moved_n + 1
  end
  return moved_n
end

local function count_qualified(tier, branch, products, by)
  if not tier or not products then return end
  for p in string.gmatch(products, '[^,]+') do
    local field = tier == 'offline' and ('offline|' .. (branch or '') .. '|' .. p) or ('remote|' .. p)
    redis.call('HINCRBY', k(KEY.qual), field, by)
  end
end

-- The roster changed: leads flagged unplaceable that a manager could now
-- take lose the flag (and unassigned ones are offered). Bounded per call.
local function revisit_unplaceable()
  local placed = 0
  for _, id in ipairs(redis.call('ZRANGE', k(KEY.unplaceable), 0, 99)) do
    local l = redis.call('HMGET', lead_key(id), 'state', 'branch', 'product')
    local tier = l[1] == 'branch_unassigned' and 'offline' or 'remote'
    if qualified_count(tier, l[2], l[3]) > 0 then
      redis.call('ZREM', k(KEY.unplaceable), id)
      redis.call('HDEL', lead_key(id), 'unplaceable')
      audit(id, 'placeable', l[1], l[1], 'a manager qualified for ' .. l[3] .. ' was registered')
      if tier == 'offline' then
        local m = pick_offline(id)
        if m then
          offer_to(id, m, 'offered', 'retry from branch unassigned list')
          placed = placed + 1
        end
      end
    end
  end
  return placed
end

-- Returns {withdrawn = n, placed = n}.
local function after_change(m, tier, branch, available)
  if tier ~= 'offline' then
    if available then return {withdrawn = 0, placed = 0} end
    return {withdrawn = release_personal_queue(m), placed = 0}
  end
  if available then return {withdrawn = 0, placed = retry_unassigned(branch)} end
  return {withdrawn = withdraw_offers(m), placed = 0}
end
