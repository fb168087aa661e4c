-- Everything a remote manager does to a lead it leased: complete with an
-- outcome, release, extend, escalate. The lease must be the current one and
-- not past its deadline (the sweeper may not have run yet).
-- ARGV[4] manager  [5] lead  [6] lease id  [7] op: complete|release|extend|escalate
--     [8] outcome (complete)  [9] call-back time ms (call_back)  [10] note/reason
--     [11] extension ms (extend)
local m, id, lease_id, op = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local lk = lead_key(id)
local l = redis.call('HMGET', lk, 'state', 'owner', 'lease_id', 'branch', 'pulled_from')
if not l[1] then return fail('not_found', 'lead ' .. id .. ' not found') end
if l[1] ~= 'remote_leased' or l[2] ~= m or l[3] ~= lease_id then
  -- Did this manager ever lease it? (The error path only: read the history.)
  local leased_before = false
  local needle = '"manager":"' .. m .. '"'
  for _, ev in ipairs(redis.call('LRANGE', k('hist', id), 0, -1)) do
    if string.find(ev, '"action":"leased"', 1, true) and string.find(ev, needle, 1, true) then
      leased_before = true
      break
    end
  end
  if leased_before then
    return fail('lease_lost', 'lease ' .. lease_id .. ' on ' .. id .. ' is no longer held (expired or released)')
  end
  return fail('not_owner', 'lead ' .. id .. ' is not leased to ' .. m)
end
local expires = tonumber(redis.call('ZSCORE', k('dl', 'lease'), id))
if not expires or expires <= NOW then
  return fail('lease_lost', 'lease ' .. lease_id .. ' on ' .. id .. ' expired')
end
local note = ARGV[10]

if op == 'extend' then
  local ext = tonumber(ARGV[11])
  local new_exp = math.min(expires + ext, NOW + CFG.lease_max_ms)
  if new_exp < expires then new_exp = expires end
  redis.call('ZADD', k('dl', 'lease'), new_exp, id)
  audit(id, 'lease_extended', 'remote_leased', 'remote_leased', 'until ' .. new_exp, m)
  return cjson.encode({lead_id = id, expires_at = new_exp})
end

local dest
if op == 'release' then
  -- Back where it came from, no attempt counted.
  local from = l[5] or ''
  local personal = string.find(from, ':mq:', 1, true) ~= nil
  dest = enqueue_remote(id, 'released', note, personal and m or '')
elseif op == 'escalate' then
  leave_place(id)
  redis.call('HSET', lk, 'owner', '')
  dest = offer_next(id, 'escalated', note ~= '' and note or ('escalated by ' .. m))
elseif op == 'complete' then
  local outcome = ARGV[8]
  if outcome == 'converted' then
    close(id, 'closed_converted', 'completed', note)
    dest = {kind = 'closed', manager = ''}
  elseif outcome == 'not_interested' then
    close(id, 'closed_not_interested', 'completed', note)
    dest = {kind = 'closed', manager = ''}
  elseif outcome == 'call_back' then
    local at = tonumber(ARGV[9])
    leave_place(id)
    redis.call('HSET', lk, 'owner', '', 'callback_manager', m)
    enter_place(id, k('callback'), at, nil, nil)
    set_state(id, 'remote_callback', 'call_back_scheduled', note ~= '' and note or ('call back at ' .. at), m)
    dest = {kind = 'remote_personal', manager = m}
  elseif outcome == 'escalate' then
    leave_place(id)
    redis.call('HSET', lk, 'owner', '')
    dest = offer_next(id, 'escalated', note ~= '' and note or ('escalated by ' .. m))
  elseif outcome == 'return_to_incubation' then
    dest = incubate(id, 'returned_to_incubation', note)
  else
    return fail('bad_outcome', 'unknown outcome ' .. tostring(outcome))
  end
else
  return fail('bad_op', 'unknown op ' .. tostring(op))
end
return cjson.encode({lead_id = id, destination = dest, state = redis.call('HGET', lk, 'state')})
