-- Shared by every operation (included first). The operations are ONE Redis
-- function library (routing/script.rs builds it): this file and the other
-- includes run once, when the library loads; each operation is a function
-- registered in it, which calls `begin` before anything else.
--
-- Calling convention (FCALL <operation> 1 <anchor> <call> [payloads...]):
--   keys[1] = "<prefix>:{<region>}", the shard anchor. Every key an
--             operation touches is derived from it, so all share ONE hash
--             tag (slot).
--   argv[1] = one JSON object: {actor = "...", args = {...}}
--             (and `now` = ms in tests only)
--             with the operation's named arguments under `args`.
-- `CFG` (the routing configuration, in ms) is a table built into the library
-- by routing/script.rs: a replica with another configuration loads its own
-- library (its name carries a hash of its text).
-- An operation answers {"ok": <typed reply>} or {"err": <code>, "msg": <text>}
-- and checks everything before its first write, so a failure writes nothing.
-- `KEY.<part>` names a key part of routing/keys.rs: each is replaced by
-- the part's name when the library is built (routing/script.rs).

-- This call's state. Redis runs one function at a time, and `begin` sets
-- every one of these, so nothing of one call is seen by the next.
local KEYS, ARGV, P, CALL, NOW, ACTOR, ARG, OFFERS_CHANNEL
-- Set by operations acting on behalf of one interaction (audit.lua).
local INTERACTION
-- Set by decline_referral around its audit event: the decline's category
-- (written in the event, counted by counters.lua).
local CATEGORY
-- The funnel counters' additions of this call (counters.lua), written once
-- per field when the operation ends.
local PENDING
-- The state each lead was set to by this call (saves reading it back).
local STATE_OF
-- Leads this call created, by id: the fields it wrote, until their first
-- state (saves reading back what was just written).
local NEW_LEAD
-- Bucket read by leave_place, reused by enter_place in the same call (the
-- bucket does not change in between).
local BUCKET
-- Leads this call created and has not placed yet (id -> bucket): nothing to
-- leave, no referral episode to end.
local UNPLACED

local function begin(keys, argv)
  KEYS, ARGV, P = keys, argv, keys[1]
  CALL = cjson.decode(argv[1])
  -- One clock for every deadline: this Redis server's. Only tests send their
  -- own `now` (routing::Router::with_test_clock), so a replica with a wrong
  -- clock can neither expire others' work early nor write far-future deadlines.
  NOW = CALL.now
  if not NOW then
    local t = redis.call('TIME')
    NOW = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  ACTOR, ARG = CALL.actor, CALL.args
  -- Rust sends absent optional arguments as null: make them nil.
  for name, v in pairs(ARG) do
    if v == cjson.null then ARG[name] = nil end
  end
  -- Offline managers' watch streams are told when their offers change.
  OFFERS_CHANNEL = string.match(P, '^(.*):{') .. ':' .. KEY.offers_channel
  INTERACTION, STATE_OF, NEW_LEAD, BUCKET, UNPLACED = '', {}, {}, {}, {}
  CATEGORY, PENDING = nil, {}
end

-- Key of this shard; written out (no varargs table) as it runs on every step.
local function k(a, b, c)
  if c then return P .. ':' .. a .. ':' .. b .. ':' .. c end
  if b then return P .. ':' .. a .. ':' .. b end
  return P .. ':' .. a
end
local function lead_key(id) return k(KEY.lead, id) end

-- The error codes Rust knows (routing::script::ScriptErrorCode).
local ERR = {
  not_found = true, not_owner = true, lease_lost = true, offer_gone = true,
  wrong_state = true, unavailable = true, not_registered = true, invalid_argument = true,
  not_qualified = true,
}
local function fail(code, msg)
  if not ERR[code] then error('unknown error code ' .. tostring(code)) end
  return cjson.encode({err = code, msg = msg})
end
local function ok(reply) return cjson.encode({ok = reply}) end

-- A stored interaction record as a JSON value: records are `z1.<base64>`
-- text (routing/record.rs), quoted as a string; older ones are JSON objects.
local function record_json(record)
  if string.sub(record, 1, 1) == '{' then return record end
  return '"' .. record .. '"'
end
-- The same, for a reply already encoded (encoded once, also stored).
local function ok_encoded(json) return '{"ok":' .. json .. '}' end

-- Offline managers' watch streams are told when their offers change (a
-- nudge only: they re-read; nothing is lost if a message is).
local function nudge(m)
  redis.call('PUBLISH', OFFERS_CHANNEL, m)
end

local function qualified(products, product)
  return products and string.find(products, ',' .. product .. ',', 1, true) ~= nil
end

-- What a transition that moves a lead answers.
local function moved(id, dest)
  local l = redis.call('HMGET', lead_key(id), 'state', 'branch')
  return ok({lead_id = id, destination = dest, state = l[1], branch = l[2]})
end
