--- @include "prelude"
--- @include "sweep"
-- Closed leads whose retention ended: each one's outcome record (its
-- fields, its history, its interactions, as stored) is appended to the
-- shard's outcome log, then every key of the lead is deleted. Its
-- interactions' idempotency records expired already (the retention is at
-- least their TTL). Then the audit stream is trimmed by age, and the
-- outcome log up to the last acknowledged export or by age.
-- args: limit
local done = 0
for _, id in ipairs(due(k(KEY.retire))) do
  local lk, hist, ix = lead_key(id), k(KEY.hist, id), k(KEY.ix, id)
  local flat = redis.call('HGETALL', lk)
  if #flat > 0 then
    local fields = {}
    for i = 1, #flat, 2 do fields[flat[i]] = flat[i + 1] end
    -- History events are JSON and interaction records text: joined, not re-encoded.
    local records = redis.call('LRANGE', ix, 0, -1)
    for i, r in ipairs(records) do records[i] = record_json(r) end
    redis.call('XADD', k(KEY.outlog), '*', 'lead', id, 'fields', cjson.encode(fields),
      'history', '[' .. table.concat(redis.call('LRANGE', hist, 0, -1), ',') .. ']',
      'interactions', '[' .. table.concat(records, ',') .. ']')
  end
  redis.call('DEL', lk, hist, ix, k(KEY.tried, id), k(KEY.offered, id), k(KEY.done, id))
  redis.call('ZREM', k(KEY.retire), id)
  done = done + 1
  if spent() then break end
end
-- Stream ids are "<ms>-<seq>" on Redis's own clock (not NOW, which a test
-- or a skewed caller may move).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000
redis.call('XTRIM', k(KEY.audit), 'MINID', '~', string.format('%d', math.max(0, now - CFG.audit_max_age_ms)))
-- Kept: from the entry after the acknowledged one, or younger than the age.
local keep_from = {math.max(0, now - CFG.outlog_max_age_ms), 0}
local acked = redis.call('GET', k(KEY.exported))
local ms, seq = string.match(acked or '', '^(%d+)-(%d+)$')
if ms and (tonumber(ms) > keep_from[1] or (tonumber(ms) == keep_from[1] and tonumber(seq) >= keep_from[2])) then
  keep_from = {tonumber(ms), tonumber(seq) + 1}
end
redis.call('XTRIM', k(KEY.outlog), 'MINID', string.format('%d-%d', keep_from[1], keep_from[2]))
return swept(done)
