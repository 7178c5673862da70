-- Cache misses: thread t asks for n = start + (t - 1) + stride * k, k = 0, 1, 2, ... below
-- stop, so no n repeats within the block the driver gave this run. Past stop it starts over,
-- and those answers come from the cache: counted as "cached".
-- wrk ... -s cold.lua URL -- <start> <stride> <stop>
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local first, stride, stop, n

function init(args)
  stride = tonumber(args[2])
  stop = tonumber(args[3])
  first = tonumber(args[1]) + thread_id - 1
  n = first
end

function request()
  local path = "/fact?n=" .. n
  n = n + stride
  if n >= stop then
    n = first
  end
  return wrk.format("GET", path)
end

function response(status, headers, body)
  count_response(status, body)
  if status == 200 then
    -- "cached" is the envelope's last field: look only at the end of a long body.
    if body:find('"cached":true', math.max(1, #body - 32), true) then
      add("cached")
    else
      add("computed")
    end
  end
end
