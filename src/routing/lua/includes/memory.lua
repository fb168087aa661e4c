-- What a customer told us before, kept in its home region's shard (all of
-- its leads live there): `cmem:<customer>` (do-not-contact, complaint
-- cool-off) and `ccon:<customer>` (sales hand-offs by interaction). Read,
-- applied and written by the same script that routes the lead, so nothing
-- can slip between remembering and routing.
local function is_sales(route) return route == 'referral' or route == 'remote' end

local function memory_of(c)
  local mk, ck = k(KEY.cmem, c), k(KEY.ccon, c)
  -- Most calls are a customer's first: nothing remembered, one call to know.
  if redis.call('EXISTS', mk, ck) == 0 then
    return {dnc = false, complaint_until = 0, contacts = 0, fresh = true}
  end
  local f = redis.call('HMGET', mk, 'dnc', 'complaint_until')
  return {dnc = f[1] == '1', complaint_until = tonumber(f[2]) or 0,
    contacts = redis.call('ZCOUNT', ck, '(' .. (NOW - CFG.contact_window_ms), '+inf')}
end

-- The route after the memory, and why (domain::Policy's rules beat the
-- score; these beat the call): do-not-contact suppresses, a complaint's
-- cool-off keeps sales away, past the contact cap the lead incubates.
local function remembered(mem, route, why)
  if mem.dnc then
    return 'suppressed', 'customer is do-not-contact (remembered); ' .. why
  end
  if mem.complaint_until > NOW and is_sales(route) then
    return 'service_followup', 'complaint cool-off: service follow-up, no sales routing; ' .. why
  end
  if is_sales(route) and mem.contacts >= CFG.contact_cap then
    return 'incubation', 'contact cap: ' .. mem.contacts .. ' sales hand-offs in the window; ' .. why
  end
  return route, why
end

local function remember_dnc(c, by)
  redis.call('HSET', k(KEY.cmem, c), 'dnc', 1, 'dnc_since', NOW, 'dnc_by', by)
end

local function remember_complaint(c, by)
  local until_ = NOW + CFG.complaint_cooloff_ms
  if until_ > (tonumber(redis.call('HGET', k(KEY.cmem, c), 'complaint_until')) or 0) then
    redis.call('HSET', k(KEY.cmem, c), 'complaint_until', until_, 'complaint_by', by)
  end
end

-- `mem` is what memory_of read: contacts past the window are dropped as a
-- new one comes (nothing to drop for a customer never seen).
local function remember_contact(c, interaction, mem)
  local ck = k(KEY.ccon, c)
  if not mem.fresh then redis.call('ZREMRANGEBYSCORE', ck, '-inf', NOW - CFG.contact_window_ms) end
  redis.call('ZADD', ck, 'NX', NOW, interaction)
end
