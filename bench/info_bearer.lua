-- GET /account/info with a bearer token, cycling through sessions the driver opened.
-- wrk ... -s info_bearer.lua URL -- <file of tokens>
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local requests = {}
local position = 0

function init(args)
  for _, token in ipairs(read_lines(args[1])) do
    local headers = { Authorization = "Bearer " .. token }
    requests[#requests + 1] = wrk.format("GET", "/account/info", headers)
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
