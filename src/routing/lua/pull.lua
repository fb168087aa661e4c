--- @include "prelude"
--- @include "audit"
--- @include "places"
--- @include "offline"
--- @include "lifecycle"
--- @include "view"
-- A remote manager pulls up to N leads of this shard under a lease: its own
-- queue first, then the region's pools of the products it is qualified for,
-- merged by priority (score, then age). Capacity counts leads held in other
-- shards too (passed by the caller). Retry-safe: the answer is recorded
-- under the request id until the leases it granted could have expired.
-- args: manager, max, lease_ms, held_elsewhere, request_id
local m, want = ARG.manager, ARG.max
-- A retry answers the leases granted then, as the leads are now.
local pulled = k(KEY.pulls, m, ARG.request_id)
local seen = redis.call('GET', pulled)
if seen then
  local leases = {}
  for _, l in ipairs(cjson.decode(seen)) do
    leases[#leases + 1] = {lead = view(l[1]), lease_id = l[2], expires_at = l[3]}
  end
  return ok({leases = leases})
end
local h = redis.call('HMGET', k(KEY.mgr, m), 'tier', 'products', 'capacity', 'available')
if h[1] ~= 'remote' then
  return fail('not_registered', 'manager ' .. m .. ' is not a remote manager of this region')
end
if h[4] ~= '1' then
  return fail('unavailable', 'manager ' .. m .. ' is marked unavailable')
end
local room = tonumber(h[3]) - ARG.held_elsewhere - load_of(m)
if room < want then want = room end

-- Heads of every candidate queue; a small k-way merge by priority.
local heads = {}
local function add_queue(key)
  local items = redis.call('ZRANGE', key, 0, want - 1, 'WITHSCORES')
  for i = 1, #items, 2 do
    heads[#heads + 1] = {id = items[i], pri = tonumber(items[i + 1])}
  end
end
if want > 0 then
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
end

-- The hot path, written out: one read and one write of the lead hash per
-- leased lead (the generic leave_place/enter_place/set_state would do four).
local leases, granted = {}, {}
local held, dl = k(KEY.held, m), k(KEY.dl, KEY.lease)
for i = 1, #heads do
  if #leases >= want then break end
  local id = heads[i].id
  local lk = lead_key(id)
  local f = redis.call('HMGET', lk, 'place', unpack(PULL_FIELDS))
  local from = f[1]
  local v = view_of({unpack(f, 2)}, PULL_FIELDS)
  if not qualified(h[2], v.product) then
    -- Its own queue may hold a product it is no longer qualified for.
    enqueue_remote(id, 'requeued', m .. ' is not qualified for ' .. v.product, '')
  else
    local bucket = v.bucket or ''
    redis.call('ZREM', from, id)
    redis.call('ZREM', age_index(from), id)
    redis.call('HINCRBY', k(KEY.qcount), from .. '|' .. bucket, -1)
    local lease_id = tostring(redis.call('INCR', k(KEY.seq, KEY.lease)))
    local expires = NOW + ARG.lease_ms
    redis.call('ZADD', held, NOW, id)
    redis.call('HINCRBY', k(KEY.qcount), held .. '|' .. bucket, 1)
    redis.call('ZADD', dl, expires, id)
    redis.call('HSET', lk, 'place', held, 'deadline', dl, 'owner', m, 'lease_id', lease_id,
      'pulled_from', from, 'queue_manager', '', 'state', 'remote_leased', 'updated_at', NOW)
    emit(id, 'leased', v.state, 'remote_leased', 'pulled by ' .. m, m,
      {v.probability, bucket, v.model_version, m})
    count(id, 'leased', v.state, 'remote_leased', m, false, v)
    v.state, v.owner, v.updated_at, v.lease_id = 'remote_leased', m, NOW, lease_id
    leases[#leases + 1] = {lead = v, lease_id = lease_id, expires_at = expires}
    granted[#granted + 1] = {id, lease_id, expires}
  end
end
-- Kept until every lease it granted could have expired.
redis.call('SET', pulled, #granted > 0 and cjson.encode(granted) or '[]', 'PX', CFG.lease_max_ms)
return ok({leases = leases})
