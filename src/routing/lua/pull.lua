--- @include "prelude"
--- @include "audit"
--- @include "places"
--- @include "view"
-- A remote manager pulls up to N leads of this shard under a lease: its own
-- queue first, then the region's pools of the products it is qualified for,
-- merged by priority (score, then age). Capacity counts leads held in other
-- shards too (passed by the caller).
-- args: manager, max, lease_ms, held_elsewhere
local m, want = ARG.manager, ARG.max
local h = redis.call('HMGET', k(KEY.mgr, m), 'tier', 'products', 'capacity', 'available')
if h[1] ~= 'remote' then
  return fail('not_registered', 'manager ' .. m .. ' is not a remote manager of this region')
end
if h[4] ~= '1' then
  return fail('unavailable', 'manager ' .. m .. ' is marked unavailable')
end
local room = tonumber(h[3]) - ARG.held_elsewhere - load_of(m)
if room < want then want = room end
if want <= 0 then return ok({leases = {}}) end

-- Heads of every candidate queue; a small k-way merge by priority.
local heads = {}
local function add_queue(key)
  local items = redis.call('ZRANGE', key, 0, want - 1, 'WITHSCORES')
  for i = 1, #items, 2 do
    heads[#heads + 1] = {id = items[i], pri = tonumber(items[i + 1])}
  end
end
add_queue(k(KEY.mq, m))
local n_personal = #heads
for p in string.gmatch(h[2] or '', '[^,]+') do
  add_queue(k(KEY.pool, p))
end
-- Own queue first, then by priority; ids break ties for determinism.
for i, e in ipairs(heads) do e.own = i <= n_personal and 0 or 1 end
table.sort(heads, function(x, y)
  if x.own ~= y.own then return x.own < y.own end
  if x.pri ~= y.pri then return x.pri < y.pri end
  return x.id < y.id
end)

-- The hot path, written out: one read and one write of the lead hash per
-- leased lead (the generic leave_place/enter_place/set_state would do four).
local leases = {}
local held, dl = k(KEY.held, m), k(KEY.dl, KEY.lease)
for i = 1, math.min(want, #heads) do
  local id = heads[i].id
  local lk = lead_key(id)
  local f = redis.call('HMGET', lk, 'place', unpack(VIEW_FIELDS))
  local from = f[1]
  local v = view_of({unpack(f, 2)})
  local bucket = v.bucket or ''
  redis.call('ZREM', from, id)
  redis.call('HINCRBY', k(KEY.qcount), from .. '|' .. bucket, -1)
  local lease_id = tostring(redis.call('INCR', k(KEY.seq, KEY.lease)))
  local expires = NOW + ARG.lease_ms
  redis.call('ZADD', held, NOW, id)
  redis.call('HINCRBY', k(KEY.qcount), held .. '|' .. bucket, 1)
  redis.call('ZADD', dl, expires, id)
  redis.call('HSET', lk, 'place', held, 'deadline', dl, 'owner', m, 'lease_id', lease_id,
    'pulled_from', from, 'state', 'remote_leased', 'updated_at', NOW)
  emit(id, 'leased', v.state, 'remote_leased', 'pulled by ' .. m, m,
    {v.probability, bucket, v.model_version, m})
  v.state, v.owner, v.updated_at, v.lease_id, v.queue_manager = 'remote_leased', m, NOW, lease_id, nil
  leases[#leases + 1] = {lead = v, lease_id = lease_id, expires_at = expires}
end
return ok({leases = leases})
