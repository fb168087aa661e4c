-- The lead as Rust reads it (routing::LeadView): typed values, empty fields left out.
local VIEW_FIELDS = {'id', 'customer', 'campaign', 'product', 'branch', 'state', 'owner',
  'queue_manager', 'bucket', 'probability', 'score', 'model_version', 'attempts',
  'created_at', 'updated_at', 'callback_at', 'offer_id', 'offer_deadline', 'lease_id',
  'closed_by', 'closed_at'}
local VIEW_NUMBERS = {probability = true, score = true, attempts = true, created_at = true,
  updated_at = true, callback_at = true, offer_deadline = true, closed_at = true}

-- What a just-pulled lead shows (the hot path reads no more than it needs).
local PULL_FIELDS = {'id', 'customer', 'campaign', 'product', 'branch', 'state', 'bucket',
  'probability', 'score', 'model_version', 'attempts', 'created_at'}

local function view_of(values, fields)
  local v = {}
  for i, name in ipairs(fields or VIEW_FIELDS) do
    local x = values[i]
    if x and x ~= '' then
      if VIEW_NUMBERS[name] then x = tonumber(x) end
      v[name] = x
    end
  end
  return v
end

local function view(id)
  return view_of(redis.call('HMGET', lead_key(id), unpack(VIEW_FIELDS)))
end
