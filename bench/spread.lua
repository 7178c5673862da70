-- GET /fact with n uniformly random in [0, max]; the driver warmed the whole range, so every
-- answer comes from the service's memory or from Redis.
-- wrk ... -s spread.lua URL -- <max>
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local max_n = 0

function init(args)
  max_n = tonumber(args[1])
  math.randomseed(os.time() * 1000 + thread_id)
end

function request()
  return wrk.format("GET", "/fact?n=" .. math.random(0, max_n))
end
