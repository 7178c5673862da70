-- POST /login with valid credentials, cycling through users the driver registered.
-- wrk ... -s login.lua URL -- <file of usernames> <password>
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local requests = {}
local position = 0

function init(args)
  local headers = { ["Content-Type"] = "application/json" }
  for _, username in ipairs(read_lines(args[1])) do
    local body = string.format('{"username":"%s","password":"%s"}', username, args[2])
    requests[#requests + 1] = wrk.format("POST", "/login", headers, body)
  end
  position = thread_id
end

function request()
  position = position % #requests + 1
  return requests[position]
end

function response(status, headers, body)
  count_response(status, body)
  if status == 200 then
    add("logins")
  end
end
