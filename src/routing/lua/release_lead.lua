--- @include "prelude"
--- @include "audit"
--- @include "places"
--- @include "offline"
--- @include "lifecycle"
--- @include "lease"
--- @include "record"
-- A remote manager gives a leased lead back where it came from; no attempt
-- is counted. args: manager, lead, lease_id
local m, id = ARG.manager, ARG.lead
local replay = recorded(id, ARG.lease_id, 'release', '')
if replay then return replay end
local l, _, err = check_lease(m, id, ARG.lease_id)
if err then return err end
local personal = string.find(l[5] or '', ':' .. KEY.mq .. ':', 1, true) ~= nil
local dest = enqueue_remote(id, 'released', 'released by manager', personal and m or '')
return moved_recorded(id, dest, ARG.lease_id, 'release', '')
