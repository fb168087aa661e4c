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

-- An ingested interaction's result as first answered, `replayed` set, with
-- its record (`recorded`: the answer the first call got) unless 10 later
-- calls folded it away; nil if the interaction was not ingested here (or
-- its `idem:` record expired). Encoded once: it is the reply.
local function ingest_replay(interaction_id)
  local seen = redis.call('GET', k(KEY.idem, interaction_id))
  if not seen then return nil end
  local rec = cjson.decode(seen)
  rec.result.replayed = true
  local res = cjson.encode(rec.result)
  local id = rec.result.lead_id
  local folded = tonumber(redis.call('HGET', lead_key(id), 'interactions_folded')) or 0
  local at = (tonumber(rec.seq) or 0) - folded - 1
  local record = at >= 0 and redis.call('LINDEX', k(KEY.ix, id), at)
  if record then res = string.sub(res, 1, -2) .. ',"recorded":' .. record_json(record) .. '}' end
  return res
end
