-- The audit trail: per-lead history (readable in order) and the shard's
-- append-only stream. `l` = the lead's probability, bucket, model_version, owner.
-- INTERACTION (prelude.lua) is set by operations acting on behalf of one
-- interaction. Every event is also counted for the cockpit (counters.lua).
local function emit(id, action, from, to, reason, manager, l)
  local ev = cjson.encode({
    at = NOW, lead = id, actor = ACTOR, action = action,
    from = from or '', to = to or '', reason = reason or '',
    probability = tonumber(l[1]) or 0, bucket = l[2] or '',
    model_version = l[3] or '', manager = manager or l[4] or '',
    interaction = INTERACTION, category = CATEGORY
  })
  -- Bounded: the oldest event goes from the lead's own history, counted
  -- (the shard's stream below keeps it).
  if redis.call('RPUSH', k(KEY.hist, id), ev) > CFG.history_per_lead then
    redis.call('LPOP', k(KEY.hist, id))
    redis.call('HINCRBY', lead_key(id), 'history_folded', 1)
  end
  redis.call('XADD', k(KEY.audit), 'MAXLEN', '~', CFG.audit_maxlen, '*', 'lead', id, 'event', ev)
end

local function audit(id, action, from, to, reason, manager)
  local l = redis.call('HMGET', lead_key(id), 'probability', 'bucket', 'model_version', 'owner')
  emit(id, action, from, to, reason, manager, l)
  count(id, action, from, to, manager or l[4], false, nil)
end

-- STATE_OF and NEW_LEAD (prelude.lua) save reading back what this call wrote.
local function set_state(id, to, action, reason, manager)
  STATE_OF[id] = to
  local lk = lead_key(id)
  local new = NEW_LEAD[id]
  NEW_LEAD[id] = nil
  local l = new and {'', new.probability, new.bucket, new.model_version, ''}
    or redis.call('HMGET', lk, 'state', 'probability', 'bucket', 'model_version', 'owner')
  redis.call('HSET', lk, 'state', to, 'updated_at', NOW)
  emit(id, action, l[1], to, reason, manager, {l[2], l[3], l[4], l[5]})
  count(id, action, l[1], to, manager, true, new)
end
