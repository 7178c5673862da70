-- GET /account/info with a bearer token, cycling through sessions the driver opened.
-- wrk ... -s info_bearer.lua URL -- <file of tokens>
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

function init(args)
  local requests = {}
  for _, token in ipairs(read_lines(args[1])) do
    local headers = { Authorization = "Bearer " .. token }
    requests[#requests + 1] = wrk.format("GET", "/account/info", headers)
  end
  cycle_through(requests)
end

function request()
  return next_prepared()
end
