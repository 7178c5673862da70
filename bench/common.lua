-- Loaded by every scenario script: numbers the threads, counts statuses per thread, and ends
-- the run with one line "BENCH {json}" that bench/wrk.py reads.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_id", #threads)
end

statuses = {}
counters = {}

function add(name, amount)
  counters[name] = (counters[name] or 0) + (amount or 1)
end

-- A 503 is the service shedding load only when it comes in the service's JSON envelope; a bare
-- 503 would come from somewhere else.
function count_response(status, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status == 503 and body and body:find('"message":"server busy"', 1, true) then
    add("busy_503")
  end
end

-- Prepared requests sent in turn, each thread starting at its own place: a script builds them
-- in init(), passes them to cycle_through() and answers request() with next_prepared().
local prepared, position = {}, 0

function cycle_through(requests)
  prepared, position = requests, thread_id
end

function next_prepared()
  position = position % #prepared + 1
  return prepared[position]
end

-- Most scripts only count what comes back; the others define their own response().
function response(status, headers, body)
  count_response(status, body)
end

function read_lines(path)
  local lines = {}
  for line in io.lines(path) do
    if line ~= "" then
      lines[#lines + 1] = line
    end
  end
  return lines
end

local function merge(total, part)
  for key, value in pairs(part or {}) do
    total[tostring(key)] = (total[tostring(key)] or 0) + value
  end
end

local function json_object(map)
  local parts = {}
  for key, value in pairs(map) do
    parts[#parts + 1] = string.format('"%s":%d', key, value)
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

function done(summary, latency, requests)
  local all_statuses, all_counters = {}, {}
  for _, thread in ipairs(threads) do
    merge(all_statuses, thread:get("statuses"))
    merge(all_counters, thread:get("counters"))
  end
  io.write(string.format(
    'BENCH {"statuses":%s,"counters":%s,"duration_us":%d,"requests":%d}\n',
    json_object(all_statuses), json_object(all_counters), summary.duration, summary.requests
  ))
end
