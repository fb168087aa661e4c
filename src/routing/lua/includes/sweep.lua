-- Due deadlines of one kind, at most `limit`. Any number of replicas may
-- sweep at once: each due entry is handled inside one atomic script, and a
-- second sweeper simply finds it gone.
--
-- A sweep call is also bounded in time: it stops after the item in hand once
-- it has run for SWEEP_BUDGET_US (Redis's clock) and answers `more`; the
-- sweeper calls again. An item may touch tens of keys (a re-offer walks the
-- branch's managers), so a count alone would not bound a call.
local SWEEP_BUDGET_US = 1000
local SWEEP_T0, OUT_OF_TIME = 0, false

local function now_us()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end

local function sweep_start()
  SWEEP_T0, OUT_OF_TIME = now_us(), false
end

local function due(key)
  sweep_start()
  return redis.call('ZRANGEBYSCORE', key, '-inf', NOW, 'LIMIT', 0, ARG.limit)
end

-- True once this call has used its budget (the caller stops there).
local function spent()
  OUT_OF_TIME = now_us() - SWEEP_T0 >= SWEEP_BUDGET_US
  return OUT_OF_TIME
end

-- A sweep's reply: how many it did, and whether more may be due now.
local function swept(done)
  return ok({done = done, more = OUT_OF_TIME or done >= ARG.limit})
end
