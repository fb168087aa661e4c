-- What follows a change of a manager's availability or registration.

-- Going away returns pending offers to others; accepted and leased leads stay.
local function withdraw_offers(m)
  local moved_n = 0
  for _, id in ipairs(redis.call('ZRANGE', k(KEY.offers, m), 0, -1)) do
    audit(id, 'offer_withdrawn', 'referral_offered', 'referral_offered', m .. ' became unavailable', m)
    offer_next(id, 'reoffered', m .. ' became unavailable')
    moved_n = moved_n + 1
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

-- Returns {withdrawn = n, placed = n}.
local function after_change(m, tier, branch, available)
  if tier ~= 'offline' then
    if available then return {withdrawn = 0, placed = 0} end
    return {withdrawn = release_personal_queue(m), placed = 0}
  end
  if available then return {withdrawn = 0, placed = retry_unassigned(branch)} end
  return {withdrawn = withdraw_offers(m), placed = 0}
end
