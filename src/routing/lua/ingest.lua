--- @include "record"
--- @include "prelude"
--- @include "audit"
--- @include "places"
--- @include "offline"
--- @include "lifecycle"
--- @include "memory"
-- Ingest one scored interaction. Idempotent on the interaction id: a replay
-- answers what the first call answered, including the robot's response as
-- recorded then. Joins the customer's open lead if there is one (re-scoring
-- it, moving it up a tier at most, never away from a manager who holds it);
-- else creates the lead and routes it.
-- args: interaction_id, lead_id (used if a new lead is made), customer,
--   product, campaign, branch, relationship_manager?, remote_manager?, route,
--   bucket, probability, score, model_version, why, pending_dnc (an admin's
--   do-not-contact set before the customer had a home region)
-- payload (kept, never parsed): ARGV[2] the interaction record, with the
--   score, reasons and intents answered to the robot (the lead's hash keeps
--   no copy; a replay answers them from here)
local a = ARG
local RECORD = ARGV[2]
INTERACTION = a.interaction_id

-- `idem:<interaction>`: the result as recorded and where the interaction's
-- record is in the lead's list (`seq`, counting folded ones), one JSON
-- string with a TTL. A replay answers the result and that record (the
-- answer the first call got), unless 10 later calls folded it away.
local idem = k(KEY.idem, a.interaction_id)
local replay = ingest_replay(a.interaction_id)
if replay then return ok_encoded(replay) end

-- Appends this interaction's record to the lead's list (bounded: the oldest
-- goes, counted); answers its sequence number (1 = the lead's first).
local function push_record(id)
  local n = redis.call('RPUSH', k(KEY.ix, id), RECORD)
  local folded = tonumber(redis.call('HGET', lead_key(id), 'interactions_folded')) or 0
  if n > CFG.interactions_per_lead then
    redis.call('LPOP', k(KEY.ix, id))
    folded = redis.call('HINCRBY', lead_key(id), 'interactions_folded', 1)
    n = n - 1
  end
  return folded + n
end
local SEQ = 0

local function snapshot(id)
  -- A queued lead whose bucket changes moves between the bucket counts.
  local cur = redis.call('HMGET', lead_key(id), 'place', 'bucket')
  if cur[1] and cur[1] ~= '' and cur[2] ~= a.bucket then
    redis.call('HINCRBY', k(KEY.qcount), cur[1] .. '|' .. (cur[2] or ''), -1)
    redis.call('HINCRBY', k(KEY.qcount), cur[1] .. '|' .. a.bucket, 1)
  end
  redis.call('HSET', lead_key(id),
    'bucket', a.bucket, 'probability', a.probability, 'score', a.score,
    'model_version', a.model_version, 'updated_at', NOW)
  SEQ = push_record(id)
end

-- Tier of a place, for "a lead may move up a tier, never down by a re-score".
-- A service follow-up ranks below all: a later call that is not a complaint
-- routes the lead again.
local TIER_OF_STATE = {
  service_followup = -1, incubating = 0, remote_queued = 1, remote_callback = 1,
  branch_unassigned = 2, referral_offered = 2,
}
local TIER_OF_ROUTE = {incubation = 0, remote = 1, referral = 2}
local KIND_OF_STATE = {
  incubating = 'incubation', remote_callback = 'remote_personal',
  branch_unassigned = 'branch_unassigned', service_followup = 'service_followup',
}

-- What the customer told us before beats this call.
if a.pending_dnc then remember_dnc(a.customer, 'admin') end
local mem = customer_of(a.customer)
local r, why = remembered(mem, a.route, a.why)

local id, dest, joined, routed = nil, nil, false, false
local existing = mem.lead
local state = existing and redis.call('HGET', lead_key(existing), 'state')

if state then
  id, joined = existing, true
  snapshot(id)
  audit(id, 'rescored', state, state, 'interaction joined the open lead')
  local held = state == 'referral_accepted' or state == 'remote_leased' or state == 'referral_offered'
  if r == 'suppressed' or r == 'service_followup' then
    -- Do-not-contact and a complaint beat everything, a manager's hold
    -- included: the offer is withdrawn, the lease or acceptance ends.
    dest = route(id, r, 'rerouted', why)
    routed = true
  elseif held then
    dest = {kind = 'held', manager = redis.call('HGET', lead_key(id), 'owner')}
  elseif TIER_OF_ROUTE[r] and TIER_OF_STATE[state] and TIER_OF_ROUTE[r] > TIER_OF_STATE[state] then
    dest = route(id, r, 'promoted', why)
    routed = true
  else
    -- Stays where it is; a queued lead takes its new priority.
    local owner = redis.call('HGET', lead_key(id), 'owner') or ''
    local kind = KIND_OF_STATE[state]
    if state == 'remote_queued' then
      local f = redis.call('HMGET', lead_key(id), 'place', 'queued_at', 'queue_manager')
      redis.call('ZADD', f[1], priority(a.score, tonumber(f[2])), id)
      owner = f[3] or ''
      kind = (owner ~= '' and 'remote_personal') or 'remote_pool'
    end
    dest = {kind = kind, manager = owner}
  end
else
  -- A new lead is written whole at once; it has no place to leave yet.
  id = a.lead_id
  redis.call('HSET', lead_key(id),
    'id', id, 'customer', a.customer, 'product', a.product, 'campaign', a.campaign,
    'branch', a.branch, 'rm', a.relationship_manager or '', 'remote_mgr', a.remote_manager or '',
    'state', '', 'owner', '', 'place', '', 'deadline', '', 'queue_manager', '',
    'attempts', 0, 'created_at', NOW,
    'bucket', a.bucket, 'probability', a.probability, 'score', a.score,
    'model_version', a.model_version, 'updated_at', NOW)
  SEQ = push_record(id)
  redis.call('SADD', k(KEY.branches), a.branch)
  -- The customer's open lead, and the hand-off it is if it goes to sales,
  -- in one write before it is routed (closing it at once clears `lead`).
  local field, value = nil, nil
  if is_sales(r) then field, value = note_contact(mem, a.interaction_id) end
  if field then
    redis.call('HSET', k(KEY.cmem, a.customer), 'lead', id, field, value)
  else
    redis.call('HSET', k(KEY.cmem, a.customer), 'lead', id)
  end
  UNPLACED[id] = a.bucket
  NEW_LEAD[id] = {score = a.score, product = a.product, remote_mgr = a.remote_manager or '',
    probability = a.probability, bucket = a.bucket, model_version = a.model_version,
    branch = a.branch, campaign = a.campaign}
  dest = route(id, r, 'ingested', why)
  routed = true
end
-- What this interaction tells us is remembered with it.
if r == 'suppressed' and not mem.dnc then remember_dnc(a.customer, a.interaction_id) end
if a.route == 'service_followup' then remember_complaint(a.customer, a.interaction_id) end
if routed and joined and is_sales(r) then
  local field, value = note_contact(mem, a.interaction_id)
  if field then redis.call('HSET', k(KEY.cmem, a.customer), field, value) end
end
if dest.manager == '' then dest.manager = nil end

local res = cjson.encode({lead_id = id, destination = dest, joined = joined, routed = routed,
  route = r, replayed = false, state = STATE_OF[id] or state})
redis.call('SET', idem, '{"result":' .. res .. ',"seq":' .. SEQ .. '}', 'PX', CFG.idem_ttl_ms)
return ok_encoded(res)
