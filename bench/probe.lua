-- The event-loop probe: GET /fact?n=10 at a low rate (a pause before each request) while
-- other load runs; its latency shows how long the loop is held.
-- wrk ... -s probe.lua URL -- <pause in ms>
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local pause_ms = 10

function init(args)
  pause_ms = tonumber(args[1])
  wrk.path = "/fact?n=10"
end

function delay()
  return pause_ms
end
