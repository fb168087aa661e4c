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

-- The hot path, written out: one read and one write of the lead hash per
-- leased lead (the generic leave_place/enter_place/set_state would do four).
local leases = {}
local held, dl = k('held', m), k('dl', 'lease')
for i = 1, math.min(want, #heads) do
  local id = heads[i].id
  local lk = lead_key(id)
  local f = redis.call('HMGET', lk, 'place', 'bucket', 'state', 'probability', 'model_version',
    'customer', 'campaign', 'product', 'branch', 'attempts', 'created_at')
  local from, bucket = f[1], f[2] or ''
  redis.call('ZREM', from, id)
  redis.call('HINCRBY', k('qcount'), from .. '|' .. bucket, -1)
  local lease_id = tostring(redis.call('INCR', k('seq', 'lease')))
  local expires = NOW + lease_ms
  redis.call('ZADD', held, NOW, id)
  redis.call('HINCRBY', k('qcount'), held .. '|' .. bucket, 1)
  redis.call('ZADD', dl, expires, id)
  redis.call('HSET', lk, 'place', held, 'deadline', dl, 'owner', m, 'lease_id', lease_id,
    'pulled_from', from, 'state', 'remote_leased', 'updated_at', NOW)
  emit(id, 'leased', f[3], 'remote_leased', 'pulled by ' .. m, m, {f[4], bucket, f[5], m})
  -- What the manager's list shows, so the caller needs no further reads.
  leases[#leases + 1] = {lead_id = id, lease_id = lease_id, expires_at = expires,
    fields = {customer = f[6], campaign = f[7], product = f[8], branch = f[9], attempts = f[10],
              created_at = f[11], updated_at = tostring(NOW), state = 'remote_leased', owner = m,
              bucket = bucket, probability = f[4], model_version = f[5]}}
end
return cjson.encode({leases = leases, capacity_left = room - #leases})
