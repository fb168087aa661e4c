-- The cockpit's funnel counters (routing/counters.rs reads them). Per local
-- day (CFG.fc_offset_ms east of UTC), one hash per dimension in the shard:
--   fc:<day>:s  the region      fields <stage>
--   fc:<day>:b  per branch      fields <branch>|<stage>
--   fc:<day>:p  per product     fields <product>|<stage>
--   fc:<day>:c  per campaign    fields <campaign>|<stage>
--   fc:<day>:m  per manager     fields <manager>|<stage>
-- A counted transition adds one to each dimension's field of each stage,
-- O(1); the additions are summed in the call and written once per field at
-- its end (`flush_counts`, called by every operation's wrapper, script.rs),
-- so a pull of ten leads or a sweep of 25 writes each shared field once.
-- Each day's hash expires (CFG.fc_keep_ms; managers' CFG.fc_keep_m_ms) from
-- its first field. Time to first touch and time to accept are histograms:
-- the stages `ttft:<i>` and `tta:<i>`, i the first bound of CFG.fc_bounds_s
-- (seconds) the time is within (one past the last: longer); first touches
-- are counted by their histogram alone.

-- State changes counted by their action.
local STAGE_OF_ACTION = {
  accepted = 'accepted', call_back_scheduled = 'call_back', escalated = 'escalated',
  returned_to_remote = 'handed_back', returned_to_incubation = 'handed_back',
  backflow = 'backflow', acceptance_expired = 'backflow', lease_expired = 'lease_expired',
  -- audit-only events
  declined = 'declined', offer_timed_out = 'timed_out', offer_withdrawn = 'withdrawn',
  flagged_unplaceable = 'unplaceable',
}

local function fc_bucket(ms)
  local s = ms / 1000
  for i, bound in ipairs(CFG.fc_bounds_s) do
    if s <= bound then return i end
  end
  return #CFG.fc_bounds_s + 1
end

-- PENDING (prelude.lua): this call's additions, key -> field -> n.

local function fc_bump(day, dim, field)
  local key = k(KEY.fc, day, dim)
  local fields = PENDING[key]
  if not fields then
    fields = {}
    PENDING[key] = fields
  end
  fields[field] = (fields[field] or 0) + 1
end

-- Writes this call's additions; a day's hash gets its expiry with its first
-- field.
local function flush_counts()
  for key, fields in pairs(PENDING) do
    local m = string.sub(key, -2) == ':m'
    for field, n in pairs(fields) do
      if redis.call('HINCRBY', key, field, n) == n then
        redis.call('PEXPIRE', key, m and CFG.fc_keep_m_ms or CFG.fc_keep_ms, 'NX')
      end
    end
  end
  PENDING = {}
end

-- Counts one audit event. `entered`: the lead changed state (set_state),
-- not only an event about it. `known`: the lead's product, branch, campaign
-- and created_at if the caller has them (NEW_LEAD's entry for a lead this
-- call created, pull's view), saving a read.
local function count(id, action, from, to, manager, entered, known)
  if not CFG.fc_on then return end
  local stages = {}
  if entered and action == 'ingested' then
    -- A new lead: its bucket and the state it was routed to, in one field
    -- (routing/counters.rs reads bucket, route, offered or unassigned off it).
    stages[#stages + 1] = 'new:' .. known.bucket .. ':' .. to
  elseif entered then
    if to == 'referral_offered' and manager and manager ~= '' then
      stages[#stages + 1] = 'offered'
    elseif to == 'branch_unassigned' then
      stages[#stages + 1] = 'unassigned'
    elseif to == 'closed_converted' then
      stages[#stages + 1] = 'converted'
    elseif to == 'closed_not_interested' then
      stages[#stages + 1] = 'not_interested'
    end
  end
  local named = STAGE_OF_ACTION[action]
  if named then stages[#stages + 1] = named end
  -- A decline's category (CATEGORY, prelude.lua), e.g. `declined_no_capacity`.
  if action == 'declined' and CATEGORY then stages[#stages + 1] = 'declined_' .. CATEGORY end
  if #stages == 0 and action ~= 'leased' then return end

  local d
  if known then
    d = {known.product, known.branch, known.campaign, known.created_at or NOW, ''}
  else
    d = redis.call('HMGET', lead_key(id), 'product', 'branch', 'campaign', 'created_at', 'closed_by')
  end
  local m = manager or ''
  if m == '' and (to == 'closed_converted' or to == 'closed_not_interested') then m = d[5] or '' end
  -- The first touch (a lease or an acceptance): its delay since the lead
  -- came in. A lease is one field, `leased` or, on a first touch,
  -- `leased:<ttft bucket>` (written by pull.lua, the hottest path).
  if action == 'leased' or action == 'accepted' then
    local first = redis.call('HSETNX', lead_key(id), 'touched_at', NOW) == 1
    local ttft = first and fc_bucket(NOW - (tonumber(d[4]) or NOW))
    if action == 'leased' then
      stages[#stages + 1] = ttft and ('leased:' .. ttft) or 'leased'
    elseif ttft then
      stages[#stages + 1] = 'ttft:' .. ttft
    end
    if action == 'accepted' then
      local dl = tonumber(redis.call('HGET', lead_key(id), 'offer_deadline'))
      if dl then stages[#stages + 1] = 'tta:' .. fc_bucket(NOW - (dl - CFG.offer_sla_ms)) end
    end
  end
  local day = math.floor((NOW + CFG.fc_offset_ms) / 86400000)
  for _, s in ipairs(stages) do
    fc_bump(day, 's', s)
    if d[2] then fc_bump(day, 'b', d[2] .. '|' .. s) end
    if d[1] then fc_bump(day, 'p', d[1] .. '|' .. s) end
    if d[3] and d[3] ~= '' then fc_bump(day, 'c', d[3] .. '|' .. s) end
    if m ~= '' then fc_bump(day, 'm', m .. '|' .. s) end
  end
end
