-- A customer's record, kept in its home region's shard (all of its leads
-- live there): `cmem:<customer>`, a hash of its open lead (`lead`), what it
-- told us (do-not-contact, complaint cool-off) and its recent sales
-- hand-offs (`contacts`: JSON [[interaction, ms], ...], only those inside the
-- contact window are kept). Read, applied and written by the same script
-- that routes the lead, so nothing can slip between remembering and routing.
local function is_sales(route) return route == 'referral' or route == 'remote' end

-- The customer's record: its open lead (nil if none) and what it told us,
-- with only the sales hand-offs still inside the contact window.
local function customer_of(c)
  local f = redis.call('HMGET', k(KEY.cmem, c), 'lead', 'dnc', 'complaint_until', 'contacts')
  local contacts = {}
  if f[4] then
    for _, e in ipairs(cjson.decode(f[4])) do
      if e[2] > NOW - CFG.contact_window_ms then contacts[#contacts + 1] = e end
    end
  end
  return {lead = f[1] or nil, dnc = f[2] == '1', complaint_until = tonumber(f[3]) or 0,
    contacts = contacts}
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
  if is_sales(route) and #mem.contacts >= CFG.contact_cap then
    return 'incubation', 'contact cap: ' .. #mem.contacts .. ' sales hand-offs in the window; ' .. why
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

-- Notes a sales hand-off in `mem` (what customer_of read); answers the
-- field and value to write (nil: this interaction was noted already).
local function note_contact(mem, interaction)
  for _, e in ipairs(mem.contacts) do
    if e[1] == interaction then return nil end
  end
  mem.contacts[#mem.contacts + 1] = {interaction, NOW}
  return 'contacts', cjson.encode(mem.contacts)
end
