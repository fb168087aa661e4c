-- Due deadlines of one kind, at most `limit`. Any number of replicas may
-- sweep at once: each due entry is handled inside one atomic script, and a
-- second sweeper simply finds it gone.
local function due(key)
  return redis.call('ZRANGEBYSCORE', key, '-inf', NOW, 'LIMIT', 0, ARG.limit)
end
