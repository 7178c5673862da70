-- GET /account/info with a session cookie, cycling through sessions the driver opened.
-- wrk ... -s info_cookie.lua URL -- <file of "SID=..." cookies>
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local requests = {}
local position = 0

function init(args)
  for _, cookie in ipairs(read_lines(args[1])) do
    requests[#requests + 1] = wrk.format("GET", "/account/info", { Cookie = cookie })
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
