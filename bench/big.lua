-- One large cached answer: GET /fact?n=<n> (100000: a 456 KB body), no Accept-Encoding.
-- wrk ... -s big.lua URL -- <n>
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

function init(args)
  wrk.path = "/fact?n=" .. args[1]
end
