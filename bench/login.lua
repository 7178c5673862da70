-- POST /login with valid credentials, cycling through users the driver registered.
-- wrk ... -s login.lua URL -- <file of usernames> <password>
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

function init(args)
  local requests = {}
  local headers = { ["Content-Type"] = "application/json" }
  for _, username in ipairs(read_lines(args[1])) do
    local body = string.format('{"username":"%s","password":"%s"}', username, args[2])
    requests[#requests + 1] = wrk.format("POST", "/login", headers, body)
  end
  cycle_through(requests)
end

function request()
  return next_prepared()
end

function response(status, headers, body)
  count_response(status, body)
  if status == 200 then
    add("logins")
  end
end
