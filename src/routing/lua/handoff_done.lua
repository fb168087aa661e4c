-- Hand-off step 3 of 3 (source shard): the destination has the lead; drop
-- the snapshot and the bulky copies, keep the forward. Idempotent.
-- ARGV[4] lead
local id = ARGV[4]
redis.call('DEL', k('handoff', id), k('hist', id), k('ix', id), k('tried', id), k('offered', id))
redis.call('ZREM', k('handoffs'), id)
return cjson.encode({lead_id = id, done = true})
