--- @include "prelude"
--- @include "view"
-- A lead with its interactions and history (read only). args: lead
local id = ARG.lead
if redis.call('EXISTS', lead_key(id)) == 0 then
  return fail('not_found', 'lead ' .. id .. ' not found')
end
return ok({lead = view(id), interactions = redis.call('LRANGE', k(KEY.ix, id), 0, -1),
  history = redis.call('LRANGE', k(KEY.hist, id), 0, -1)})
