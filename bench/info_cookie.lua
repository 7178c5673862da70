-- GET /account/info with a session cookie, cycling through sessions the driver opened.
-- wrk ... -s info_cookie.lua URL -- <file of "SID=..." cookies>
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

function init(args)
  local requests = {}
  for _, cookie in ipairs(read_lines(args[1])) do
    requests[#requests + 1] = wrk.format("GET", "/account/info", { Cookie = cookie })
  end
  cycle_through(requests)
end

function request()
  return next_prepared()
end
