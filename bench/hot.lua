-- Cached factorials: GET /fact for a few small n (the driver passes them, warmed beforehand).
-- wrk ... -s hot.lua URL -- 10,12,20
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

function init(args)
  local requests = {}
  for n in args[1]:gmatch("%d+") do
    requests[#requests + 1] = wrk.format("GET", "/fact?n=" .. n)
  end
  cycle_through(requests)
end

function request()
  return next_prepared()
end
