--- @include "prelude"
--- @include "audit"
--- @include "places"
--- @include "offline"
--- @include "lifecycle"
--- @include "lease"
--- @include "record"
-- A remote manager records the outcome of a leased lead.
-- args: manager, lead, lease_id, outcome (converted | not_interested |
--   call_back | escalate | return_to_incubation), callback_at (call_back), note
local m, id = ARG.manager, ARG.lead
local outcome, note = ARG.outcome, ARG.note or ''
local fp = outcome .. '|' .. tostring(ARG.callback_at or '') .. '|' .. note
local replay = recorded(id, ARG.lease_id, 'complete', fp)
if replay then return replay end
local _, _, err = check_lease(m, id, ARG.lease_id)
if err then return err end

local dest
if outcome == 'converted' or outcome == 'not_interested' then
  dest = close_with(id, outcome, note, m)
elseif outcome == 'call_back' then
  local at = ARG.callback_at
  if not at or at <= NOW then
    return fail('invalid_argument', 'callback_at: a call-back needs a time in the future')
  end
  leave_place(id)
  redis.call('HSET', lead_key(id), 'owner', '', 'callback_manager', m, 'callback_at', at)
  enter_place(id, k(KEY.callback), at, nil, nil)
  set_state(id, 'remote_callback', 'call_back_scheduled', note, m)
  dest = {kind = 'remote_personal', manager = m}
elseif outcome == 'escalate' then
  dest = escalate(id, m, note)
elseif outcome == 'return_to_incubation' then
  dest = incubate(id, 'returned_to_incubation', note)
else
  return fail('invalid_argument', 'unknown outcome ' .. tostring(outcome))
end
return moved_recorded(id, dest, ARG.lease_id, 'complete', fp)
