--- @include "prelude"
-- A page of every lead id of this shard, by SCAN (read only; for the
-- invariant checker and offline audits, never on the hot path: the shard
-- keeps no set of all its leads, which would only grow).
-- args: cursor ("0" to start), count (a hint, as SCAN's COUNT)
local prefix = lead_key('')
-- The prefix is matched literally: glob characters in it are escaped.
local pattern = string.gsub(prefix, '[%*%?%[%]\\]', '\\%0') .. '*'
local page = redis.call('SCAN', ARG.cursor, 'MATCH', pattern, 'COUNT', ARG.count)
local ids = {}
for _, key in ipairs(page[2]) do ids[#ids + 1] = string.sub(key, #prefix + 1) end
return ok({cursor = page[1], ids = ids})
