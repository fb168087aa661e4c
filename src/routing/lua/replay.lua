--- @include "prelude"
--- @include "record"
-- The replay fast path, before anything is scored: for each interaction,
-- if it was ingested in this shard, the result and the answer its first
-- call got (as `ingest` would answer it), else null (score and ingest it).
-- Reads only. args: interaction_ids
local out = {}
for i, interaction_id in ipairs(ARG.interaction_ids) do
  out[i] = ingest_replay(interaction_id) or 'null'
end
return ok_encoded('[' .. table.concat(out, ',') .. ']')
