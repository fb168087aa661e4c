-- The fence of every call on a leased lead: the lease must be the current
-- one, held by the caller, and not past its deadline (the sweeper may not
-- have run yet). Returns the lead's fields and expiry, or an error reply.
local function check_lease(m, id, lease_id)
  local l = redis.call('HMGET', lead_key(id), 'state', 'owner', 'lease_id', 'branch', 'pulled_from')
  if not l[1] then return nil, nil, fail('not_found', 'lead ' .. id .. ' not found') end
  if l[1] ~= 'remote_leased' or l[2] ~= m or l[3] ~= lease_id then
    -- Did this manager ever lease it? (The error path only: read the history.)
    for _, raw in ipairs(redis.call('LRANGE', k(KEY.hist, id), 0, -1)) do
      local ev = cjson.decode(raw)
      if ev.action == 'leased' and ev.manager == m then
        return nil, nil, fail('lease_lost', 'lease ' .. lease_id .. ' on ' .. id .. ' is no longer held (expired or released)')
      end
    end
    return nil, nil, fail('not_owner', 'lead ' .. id .. ' is not leased to ' .. m)
  end
  local expires = tonumber(redis.call('ZSCORE', k(KEY.dl, KEY.lease), id))
  if not expires or expires <= NOW then
    return nil, nil, fail('lease_lost', 'lease ' .. lease_id .. ' on ' .. id .. ' expired')
  end
  return l, expires, nil
end
