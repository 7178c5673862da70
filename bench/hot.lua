-- Cached factorials: GET /fact for a few small n (the driver passes them, warmed beforehand).
-- wrk ... -s hot.lua URL -- 10,12,20
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local requests = {}
local position = 0

function init(args)
  for n in args[1]:gmatch("%d+") do
    requests[#requests + 1] = wrk.format("GET", "/fact?n=" .. n)
  end
  position = thread_id
end

function request()
  position = position % #requests + 1
  return requests[position]
end

function response(status, headers, body)
  count_response(status, body)
end
