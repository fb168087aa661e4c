-- The fence of accept/decline: the offer must be the current one, made to
-- the caller, and not past its deadline. Returns the lead's branch, or an
-- error reply.
local function check_offer(m, id, offer_id)
  local l = redis.call('HMGET', lead_key(id), 'state', 'owner', 'offer_id', 'offer_deadline', 'branch')
  if not l[1] then return nil, fail('not_found', 'lead ' .. id .. ' not found') end
  if l[1] ~= 'referral_offered' or l[2] ~= m or l[3] ~= offer_id then
    if redis.call('SISMEMBER', k(KEY.offered, id), m) == 1 then
      return nil, fail('offer_gone', 'offer ' .. offer_id .. ' is no longer yours')
    end
    return nil, fail('not_owner', 'lead ' .. id .. ' was never offered to ' .. m)
  end
  if tonumber(l[4]) <= NOW then
    return nil, fail('offer_gone', 'offer ' .. offer_id .. ' passed its accept deadline')
  end
  return l[5], nil
end
