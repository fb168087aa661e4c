-- Runs due deadlines of one kind in this shard, at most ARGV[5] of them.
-- Any number of replicas may run it at once: each due entry is handled inside
-- this one atomic script, and a second sweeper simply finds it gone.
-- ARGV[4] kind: offer|lease|callback|unassigned|incubation  [5] limit
local kind, limit = ARGV[4], tonumber(ARGV[5])
local done = 0

local function due(key)
  return redis.call('ZRANGEBYSCORE', key, '-inf', NOW, 'LIMIT', 0, limit)
end

if kind == 'offer' then
  -- SLA missed: the next eligible manager, never the same one twice.
  for _, id in ipairs(due(k('dl', 'offer'))) do
    local lk = lead_key(id)
    local m = redis.call('HGET', lk, 'owner')
    local branch = redis.call('HGET', lk, 'branch')
    audit(id, 'offer_timed_out', 'referral_offered', 'referral_offered', 'accept deadline passed', m)
    offer_next(id, 'reoffered', 'offer to ' .. m .. ' timed out')
    retry_unassigned(branch)
    done = done + 1
  end
elseif kind == 'lease' then
  -- Lease ran out: back to the queue with one more attempt, or to incubation.
  for _, id in ipairs(due(k('dl', 'lease'))) do
    local lk = lead_key(id)
    local l = redis.call('HMGET', lk, 'owner', 'pulled_from')
    local attempts = redis.call('HINCRBY', lk, 'attempts', 1)
    if attempts >= CFG.max_attempts then
      incubate(id, 'lease_expired', 'attempt ' .. attempts .. ' of ' .. CFG.max_attempts .. ' expired')
    else
      local personal = string.find(l[2] or '', ':mq:', 1, true) ~= nil
      enqueue_remote(id, 'lease_expired', 'lease of ' .. (l[1] or '') .. ' expired (attempt ' .. attempts .. ')',
        personal and l[1] or '')
    end
    done = done + 1
  end
elseif kind == 'callback' then
  for _, id in ipairs(due(k('callback'))) do
    local m = redis.call('HGET', lead_key(id), 'callback_manager')
    enqueue_remote(id, 'call_back_due', 'call back time reached', m)
    done = done + 1
  end
elseif kind == 'unassigned' then
  -- Nobody in the branch took it in time: back-flow to the remote queue.
  for _, id in ipairs(due(k('dl', 'unassigned'))) do
    enqueue_remote(id, 'backflow', 'no offline manager within the wait')
    done = done + 1
  end
elseif kind == 'incubation' then
  for _, id in ipairs(due(k('incubation'))) do
    local lk = lead_key(id)
    local since = tonumber(redis.call('HGET', lk, 'incubated_at')) or NOW
    if NOW - since >= CFG.incubation_expiry_ms then
      close(id, 'closed_expired', 'expired', 'incubated longer than the configured age')
    else
      redis.call('ZADD', k('incubation'), NOW + CFG.review_ms, id)
      redis.call('RPUSH', k('reengage'), id)
      redis.call('LTRIM', k('reengage'), -CFG.reengage_maxlen, -1)
      audit(id, 'review_due', 'incubating', 'incubating', 'due for re-engagement')
    end
    done = done + 1
  end
else
  return fail('bad_kind', 'unknown sweep kind ' .. tostring(kind))
end
return cjson.encode({kind = kind, done = done})
