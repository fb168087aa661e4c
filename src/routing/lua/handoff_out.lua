-- Hand-off between shards, step 1 of 3 (source shard): take the lead out of
-- its place, leave a forward, and keep a snapshot until step 3. Re-running it
-- returns the same snapshot, so an interrupted hand-off can be resumed.
-- ARGV[4] lead  [5] destination region  [6] destination branch
local id, to, to_branch = ARGV[4], ARGV[5], ARGV[6]
local lk = lead_key(id)
local state = redis.call('HGET', lk, 'state')
if not state then return fail('not_found', 'lead ' .. id .. ' not found') end
local pending = redis.call('GET', k('handoff', id))
if pending then
  -- Resuming is idempotent; a different destination must wait for it.
  if cjson.decode(pending).to ~= to then
    return fail('handoff_pending', 'lead ' .. id .. ' is already moving to another region')
  end
  return pending
end
if state == 'moved_out' then
  return fail('already_moved', 'lead ' .. id .. ' already moved to ' .. tostring(redis.call('HGET', lk, 'forward')))
end
if state == 'referral_accepted' or state == 'remote_leased' or state == 'referral_offered' then
  return fail('held', 'lead ' .. id .. ' is with a manager (' .. state .. '); move it once released')
end
if state == 'suppressed' or string.sub(state, 1, 7) == 'closed_' then
  return fail('closed', 'lead ' .. id .. ' is closed (' .. state .. ')')
end

leave_place(id)
redis.call('HSET', lk, 'owner', '', 'forward', to)
release_customer(id)
set_state(id, 'moved_out', 'handoff_out', 'moving to region ' .. to)
local snap = {
  lead = redis.call('HGETALL', lk),
  hist = redis.call('LRANGE', k('hist', id), 0, -1),
  ix = redis.call('LRANGE', k('ix', id), 0, -1),
  iids = redis.call('SMEMBERS', k('iids', id)),
  state = state, to = to, to_branch = to_branch, from = string.match(P, '{(.*)}'),
}
local encoded = cjson.encode(snap)
redis.call('SET', k('handoff', id), encoded)
redis.call('ZADD', k('handoffs'), NOW, id)
return encoded
