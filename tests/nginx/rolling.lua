-- Load through nginx during a rolling restart: GET /fact and POST /account/edit in turn, every
-- answer counted by status; ends with one line "ROLLING {json}" for the test to read.
-- wrk ... -s rolling.lua URL -- TOKEN
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  token = args[1]
  statuses = {}
  sent = 0
end

function request()
  sent = sent + 1
  if sent % 2 == 0 then
    local headers = {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}
    return wrk.format("POST", "/account/edit", headers, '{"nickname":"n' .. sent % 1000 .. '"}')
  end
  return wrk.format("GET", "/fact?n=" .. sent % 50)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      total[tostring(status)] = (total[tostring(status)] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(total) do
    parts[#parts + 1] = string.format('"%s":%d', status, count)
  end
  local errors = summary.errors
  io.write(string.format(
    'ROLLING {"statuses":{%s},"requests":%d,"socket_errors":%d}\n',
    table.concat(parts, ","), summary.requests,
    errors.connect + errors.read + errors.write + errors.timeout
  ))
end
