-- Hand-off step 2 of 3 (destination shard): recreate the lead from the
-- snapshot and route it here by the tier it had. Idempotent: a lead already
-- present is left as it is.
-- ARGV[4] snapshot JSON (from handoff_out)
local snap = cjson.decode(ARGV[4])
local f = {}
for i = 1, #snap.lead, 2 do f[snap.lead[i]] = snap.lead[i + 1] end
local id = f.id
local lk = lead_key(id)
if redis.call('EXISTS', lk) == 1 then
  if redis.call('HGET', lk, 'state') ~= 'moved_out' then
    return cjson.encode({lead_id = id, already = true, state = redis.call('HGET', lk, 'state')})
  end
  -- The forward the lead left when it moved away from here before: the lead
  -- itself comes back in its place.
  redis.call('DEL', lk, k('hist', id), k('ix', id), k('iids', id), k('tried', id), k('offered', id))
end
f.branch = snap.to_branch
f.rm = ''
f.place, f.deadline, f.owner, f.state = '', '', '', ''
f.forward, f.offer_id, f.offer_deadline, f.lease_id, f.pulled_from = nil, nil, nil, nil, nil
for name, value in pairs(f) do redis.call('HSET', lk, name, value) end
for _, ev in ipairs(snap.hist) do redis.call('RPUSH', k('hist', id), ev) end
for _, ix in ipairs(snap.ix) do redis.call('RPUSH', k('ix', id), ix) end
redis.call('SADD', k('leads'), id)
redis.call('SADD', k('branches'), f.branch)
local claimed = redis.call('SET', k('cust', f.customer), id, 'NX')

local by_state = {
  branch_unassigned = 'referral', remote_queued = 'remote', remote_callback = 'remote',
  incubating = 'incubation', service_followup = 'service_followup',
}
local dest = route(id, by_state[snap.state] or 'remote', 'handoff_in',
  'moved from region ' .. snap.from .. (claimed and '' or ' (customer already had an open lead here)'))
local replay = cjson.encode({lead_id = id, destination = dest, joined = false, replayed = false,
                             state = redis.call('HGET', lk, 'state')})
for _, iid in ipairs(snap.iids) do
  redis.call('SADD', k('iids', id), iid)
  redis.call('SET', k('idem', iid), replay, 'PX', CFG.idem_ttl_ms)
end
return cjson.encode({lead_id = id, already = false, destination = dest, state = redis.call('HGET', lk, 'state')})
