--- @include "prelude"
--- @include "audit"
--- @include "places"
--- @include "offline"
--- @include "lifecycle"
--- @include "sweep"
-- Nobody in the branch took a high lead in time: back-flow to the remote
-- queue. args: limit
local done = 0
for _, id in ipairs(due(k(KEY.dl, KEY.unassigned))) do
  enqueue_remote(id, 'backflow', 'no offline manager within the wait')
  done = done + 1
  if spent() then break end
end
return swept(done)
