-- A remote manager pulls up to N leads of this shard under a lease: its own
-- queue first, then the region's pools of the products it is qualified for,
-- merged by priority (score, then age). Capacity counts leads held in other
-- shards too (passed by the caller).
-- ARGV[4] manager  [5] max leads  [6] lease ms  [7] leads held in other shards
local m, want, lease_ms, elsewhere = ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local h = redis.call('HMGET', k('mgr', m), 'tier', 'products', 'capacity', 'available')
if h[1] ~= 'remote' then
  return fail('not_registered', 'manager ' .. m .. ' is not a remote manager of this region')
end
if h[4] ~= '1' then
  return fail('unavailable', 'manager ' .. m .. ' is marked unavailable')
end
local room = tonumber(h[3]) - elsewhere - load_of(m)
if room < want then want = room end
if want <= 0 then
  return cjson.encode({leases = {}, capacity_left = 0})
end

-- Heads of every candidate queue; a small k-way merge by priority.
local heads = {}
local function add_queue(key)
  local items = redis.call('ZRANGE', key, 0, want - 1, 'WITHSCORES')
  for i = 1, #items, 2 do
    heads[#heads + 1] = {id = items[i], pri = tonumber(items[i + 1])}
  end
end
add_queue(k('mq', m))
local n_personal = #heads
for p in string.gmatch(h[2] or '', '[^,]+') do
  add_queue(k('pool', p))
end
-- Own queue first, then by priority; ids break ties for determinism.
for i, e in ipairs(heads) do e.own = i <= n_personal and 0 or 1 end
table.sort(heads, function(a, b)
  if a.own ~= b.own then return a.own < b.own end
  if a.pri ~= b.pri then return a.pri < b.pri end
  return a.id < b.id
end)

local leases = {}
for i = 1, math.min(want, #heads) do
  local id = heads[i].id
  local lk = lead_key(id)
  local from = redis.call('HGET', lk, 'place')
  local lease_id = tostring(redis.call('INCR', k('seq', 'lease')))
  local expires = NOW + lease_ms
  leave_place(id)
  enter_place(id, k('held', m), NOW, k('dl', 'lease'), expires)
  redis.call('HSET', lk, 'owner', m, 'lease_id', lease_id, 'pulled_from', from)
  redis.call('SADD', k('leasers', id), m)
  set_state(id, 'remote_leased', 'leased', 'pulled by ' .. m, m)
  leases[#leases + 1] = {lead_id = id, lease_id = lease_id, expires_at = expires}
end
return cjson.encode({leases = leases, capacity_left = room - #leases})
