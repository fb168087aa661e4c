-- Results of the calls on a lease or an offer, kept by their fence id (the
-- lease id, the offer id), so that a retried call answers what the first
-- answered: `done:<lead>` hash, fence → {by, op, fp, reply}. A different
-- call by the same manager on the same fence is refused, naming what ended
-- it; anyone else gets the ordinary checks.
local function recorded(id, fence, op, fp)
  local raw = redis.call('HGET', k(KEY.done, id), fence)
  if not raw then return nil end
  local r = cjson.decode(raw)
  if r.by ~= ARG.manager then return nil end
  if r.op == op and r.fp == fp then
    r.reply.replayed = true
    return ok(r.reply)
  end
  return fail('wrong_state', op .. ' refused: ' .. fence .. ' already ended by ' .. r.op)
end

local function record(id, fence, op, fp, reply)
  redis.call('HSET', k(KEY.done, id), fence,
    cjson.encode({by = ARG.manager, op = op, fp = fp, reply = reply}))
  return ok(reply)
end

-- What a transition that moves a lead answers, recorded under its fence.
local function moved_recorded(id, dest, fence, op, fp)
  local l = redis.call('HMGET', lead_key(id), 'state', 'branch')
  return record(id, fence, op, fp, {lead_id = id, destination = dest, state = l[1], branch = l[2]})
end
