-- Ingest one scored interaction. Idempotent on the interaction id; joins the
-- customer's open lead if there is one (re-scoring it, moving it up a tier at
-- most, never away from a manager who holds it); else creates the lead and
-- routes it.
-- ARGV[4] interaction_id  [5] new lead id  [6] customer  [7] product
--     [8] campaign  [9] branch  [10] relationship (offline) manager or ''
--     [11] remote manager or ''  [12] route  [13] bucket  [14] probability
--     [15] score 0-100  [16] model version  [17] reasons JSON
--     [18] interaction record JSON  [19] why the route was chosen
local iid, new_id, customer, product = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local r, why = ARGV[12], ARGV[19]

local idem = k('idem', iid)
local seen = redis.call('GET', idem)
if seen then
  local res = cjson.decode(seen)
  res.replayed = true
  return cjson.encode(res)
end

local function snapshot(id)
  -- A queued lead whose bucket changes moves between the bucket counts.
  local cur = redis.call('HMGET', lead_key(id), 'place', 'bucket')
  if cur[1] and cur[1] ~= '' and cur[2] ~= ARGV[13] then
    redis.call('HINCRBY', k('qcount'), cur[1] .. '|' .. (cur[2] or ''), -1)
    redis.call('HINCRBY', k('qcount'), cur[1] .. '|' .. ARGV[13], 1)
  end
  redis.call('HSET', lead_key(id),
    'bucket', ARGV[13], 'probability', ARGV[14], 'score', ARGV[15],
    'model_version', ARGV[16], 'reasons', ARGV[17], 'updated_at', NOW)
  redis.call('RPUSH', k('ix', id), ARGV[18])
  redis.call('SADD', k('iids', id), iid)
end

local id, dest, joined = nil, nil, false
local existing = redis.call('GET', k('cust', customer))
local state = existing and redis.call('HGET', lead_key(existing), 'state')

if state and state ~= 'moved_out' then
  id, joined = existing, true
  snapshot(id)
  audit(id, 'rescored', state, state, 'interaction ' .. iid .. ' joined the open lead')
  local place = redis.call('HGET', lead_key(id), 'place')
  local held = state == 'referral_accepted' or state == 'remote_leased' or state == 'referral_offered'
  if r == 'suppressed' then
    -- Do-not-contact beats everything, a manager's hold included.
    dest = route(id, r, 'rerouted', why)
  elseif held then
    dest = {kind = 'held', manager = redis.call('HGET', lead_key(id), 'owner')}
  elseif r == 'service_followup' then
    dest = route(id, r, 'rerouted', why)
  elseif TIER_OF_ROUTE[r] and TIER_OF_STATE[state] and TIER_OF_ROUTE[r] > TIER_OF_STATE[state] then
    dest = route(id, r, 'promoted', why)
  else
    -- Stays where it is; a queued lead takes its new priority.
    if state == 'remote_queued' then
      local q = redis.call('HGET', lead_key(id), 'queued_at')
      redis.call('ZADD', place, priority(ARGV[15], tonumber(q)), id)
    end
    local kinds = {
      incubating = 'incubation', remote_callback = 'remote_personal',
      branch_unassigned = 'branch_unassigned', service_followup = 'service_followup',
    }
    local kind = kinds[state]
    local owner = redis.call('HGET', lead_key(id), 'owner') or ''
    if state == 'remote_queued' then
      owner = redis.call('HGET', lead_key(id), 'queue_manager') or ''
      kind = (owner ~= '' and 'remote_personal') or 'remote_pool'
    end
    dest = {kind = kind or state, manager = owner}
  end
else
  id = new_id
  redis.call('HSET', lead_key(id),
    'id', id, 'customer', customer, 'product', product, 'campaign', ARGV[8],
    'branch', ARGV[9], 'rm', ARGV[10], 'remote_mgr', ARGV[11],
    'state', '', 'owner', '', 'place', '', 'deadline', '',
    'attempts', 0, 'created_at', NOW)
  redis.call('SADD', k('leads'), id)
  redis.call('SADD', k('branches'), ARGV[9])
  redis.call('SET', k('cust', customer), id)
  snapshot(id)
  dest = route(id, r, 'ingested', why)
end

local res = {lead_id = id, destination = dest, joined = joined, replayed = false,
             state = redis.call('HGET', lead_key(id), 'state')}
local encoded = cjson.encode(res)
redis.call('SET', idem, encoded, 'PX', CFG.idem_ttl_ms)
return encoded
