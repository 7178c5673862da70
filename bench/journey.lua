-- A user's whole visit, looped on every connection: register -> login -> info -> edit ->
-- logout, with the token that login returned. Responses are matched to their journey through
-- the X-Request-ID header, which the service echoes.
-- wrk ... -s journey.lua URL -- <username prefix> <password>
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local JSON = "application/json"
local STEPS = { "register", "login", "info", "edit", "logout" }
local EXPECTED = { register = 201, login = 200, info = 200, edit = 200, logout = 200 }

local prefix, password
local journeys = {}
local ready = {}
local started = 0

function init(args)
  prefix = args[1]
  password = args[2]
end

local function credentials(journey)
  return string.format('{"username":"%s","password":"%s"}', journey.username, password)
end

local function build(journey)
  local step = STEPS[journey.step]
  local headers = { ["X-Request-ID"] = journey.request_id }
  if journey.token then
    headers["Authorization"] = "Bearer " .. journey.token
  end
  if step == "register" or step == "login" then
    headers["Content-Type"] = JSON
    return wrk.format("POST", "/" .. step, headers, credentials(journey))
  elseif step == "info" then
    return wrk.format("GET", "/account/info", headers)
  elseif step == "edit" then
    headers["Content-Type"] = JSON
    return wrk.format("POST", "/account/edit", headers, '{"nickname":"edited"}')
  end
  return wrk.format("POST", "/logout", headers, "")
end

function request()
  local journey = table.remove(ready)
  if journey == nil then
    started = started + 1
    journey = {
      username = string.format("%s%d_%d", prefix, thread_id, started),
      request_id = string.format("journey-%d-%d", thread_id, started),
      step = 1,
    }
    journeys[journey.request_id] = journey
  end
  return build(journey)
end

local function request_id(headers)
  local id = headers["X-Request-Id"] or headers["X-Request-ID"]
  if id then
    return id
  end
  for name, value in pairs(headers) do
    if name:lower() == "x-request-id" then
      return value
    end
  end
end

function response(status, headers, body)
  count_response(status, body)
  local id = request_id(headers)
  local journey = id and journeys[id]
  if not journey then
    add("unmatched")
    return
  end
  local step = STEPS[journey.step]
  if status ~= EXPECTED[step] then
    add("journeys_failed")
    journeys[id] = nil
    return
  end
  if step == "login" then
    journey.token = body:match('"token":"([^"]+)"')
    if not journey.token then
      add("journeys_failed")
      journeys[id] = nil
      return
    end
  elseif step == "logout" then
    add("journeys")
    journeys[id] = nil
    return
  end
  journey.step = journey.step + 1
  table.insert(ready, journey)
end
