-- Shared by every script (included first).
--
-- Calling convention:
--   KEYS[1] = "<prefix>:{<region>}", the shard anchor. Every key a script
--             touches is derived from it, so all share ONE hash tag (slot).
--   ARGV[1] = one JSON object: {actor = "...", args = {...}}
--             (and `now` = ms in tests only)
--             with the script's named arguments under `args`.
-- `CFG` (the routing configuration, in ms) is a table built into the script
-- by routing/script.rs: a replica with another configuration runs its own
-- copy of the script.
-- A script answers {"ok": <typed reply>} or {"err": <code>, "msg": <text>}
-- and checks everything before its first write, so a failure writes nothing.
-- `KEY.<part>` names a key part of routing/keys.rs: each is replaced by
-- the part's name when the script is built (routing/script.rs).
local P = KEYS[1]
local CALL = cjson.decode(ARGV[1])
-- One clock for every deadline: this Redis server's. Only tests send their
-- own `now` (routing::Router::with_test_clock), so a replica with a wrong
-- clock can neither expire others' work early nor write far-future deadlines.
local NOW = CALL.now
if not NOW then
  local t = redis.call('TIME')
  NOW = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local ACTOR = CALL.actor
local ARG = CALL.args
-- Rust sends absent optional arguments as null: make them nil.
for name, v in pairs(ARG) do
  if v == cjson.null then ARG[name] = nil end
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
-- The same, for a reply already encoded (encoded once, also stored).
local function ok_encoded(json) return '{"ok":' .. json .. '}' end

-- Offline managers' watch streams are told when their offers change (a
-- nudge only: they re-read; nothing is lost if a message is).
local OFFERS_CHANNEL = string.match(P, '^(.*):{') .. ':' .. KEY.offers_channel
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
