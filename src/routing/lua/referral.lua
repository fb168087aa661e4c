-- An offline manager acts on a referral: accept or decline a pending offer,
-- or complete an accepted one.
-- ARGV[4] manager  [5] lead  [6] op: accept|decline|complete  [7] offer id
--     [8] reason (decline) or note (complete)  [9] outcome (complete)
local m, id, op, offer_id, note = ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local lk = lead_key(id)
local l = redis.call('HMGET', lk, 'state', 'owner', 'offer_id', 'offer_deadline', 'branch')
if not l[1] then return fail('not_found', 'lead ' .. id .. ' not found') end
local was_offered = redis.call('SISMEMBER', k('offered', id), m) == 1
local branch = l[5]

if op == 'accept' or op == 'decline' then
  if l[1] ~= 'referral_offered' or l[2] ~= m or l[3] ~= offer_id then
    if was_offered then
      return fail('offer_gone', 'offer ' .. offer_id .. ' is no longer yours')
    end
    return fail('not_owner', 'lead ' .. id .. ' was never offered to ' .. m)
  end
  if tonumber(l[4]) <= NOW then
    return fail('offer_gone', 'offer ' .. offer_id .. ' passed its accept deadline')
  end
  if op == 'accept' then
    leave_place(id)
    enter_place(id, k('held', m), NOW, nil, nil)
    set_state(id, 'referral_accepted', 'accepted', '', m)
    return cjson.encode({lead_id = id, state = 'referral_accepted'})
  end
  audit(id, 'declined', 'referral_offered', 'referral_offered', note, m)
  local dest = offer_next(id, 'reoffered', 'declined by ' .. m .. ': ' .. note)
  retry_unassigned(branch)
  return cjson.encode({lead_id = id, destination = dest, state = redis.call('HGET', lk, 'state')})
end

if op == 'complete' then
  if l[1] ~= 'referral_accepted' or l[2] ~= m then
    if was_offered then
      return fail('offer_gone', 'lead ' .. id .. ' is not held by ' .. m)
    end
    return fail('not_owner', 'lead ' .. id .. ' was never offered to ' .. m)
  end
  local outcome = ARGV[9]
  local dest
  if outcome == 'converted' then
    close(id, 'closed_converted', 'completed', note)
    dest = {kind = 'closed', manager = ''}
  elseif outcome == 'not_interested' then
    close(id, 'closed_not_interested', 'completed', note)
    dest = {kind = 'closed', manager = ''}
  elseif outcome == 'return_to_remote' then
    dest = enqueue_remote(id, 'returned_to_remote', note ~= '' and note or ('handed back by ' .. m))
  elseif outcome == 'return_to_incubation' then
    dest = incubate(id, 'returned_to_incubation', note)
  else
    return fail('bad_outcome', 'unknown outcome ' .. tostring(outcome))
  end
  retry_unassigned(branch)
  return cjson.encode({lead_id = id, destination = dest, state = redis.call('HGET', lk, 'state')})
end
return fail('bad_op', 'unknown op ' .. tostring(op))
