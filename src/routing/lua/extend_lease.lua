--- @include "prelude"
--- @include "audit"
--- @include "lease"
--- @include "record"
-- A remote manager extends its lease, capped at now + lease_max.
-- args: manager, lead, lease_id, by_ms
-- The lease grows by by_ms, capped at now + lease_max: a retried extension
-- can only reach that cap. Once the lease has ended, the call is refused
-- naming what ended it.
local m, id = ARG.manager, ARG.lead
local replay = recorded(id, ARG.lease_id, 'extend', '')
if replay then return replay end
local _, expires, err = check_lease(m, id, ARG.lease_id)
if err then return err end
local new_exp = math.min(expires + ARG.by_ms, NOW + CFG.lease_max_ms)
if new_exp < expires then new_exp = expires end
redis.call('ZADD', k(KEY.dl, KEY.lease), new_exp, id)
audit(id, 'lease_extended', 'remote_leased', 'remote_leased', '', m)
return ok({lead_id = id, expires_at = new_exp})
