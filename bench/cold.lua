-- Cache misses: thread t asks for n = first + (t - 1) * thread_step + step * k, k = 0, 1, ...
-- below stop: the driver gives every run a slice of its own (no n repeats another run's) that
-- spans the whole range. Past stop it starts over, and those answers come from the cache:
-- counted as "cached".
-- wrk ... -s cold.lua URL -- <first> <thread_step> <step> <stop>
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local first, step, stop, n

function init(args)
  step = tonumber(args[3])
  stop = tonumber(args[4])
  first = tonumber(args[1]) + (thread_id - 1) * tonumber(args[2])
  n = first
end

function request()
  local path = "/fact?n=" .. n
  n = n + step
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
