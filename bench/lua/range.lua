-- wrk: GET random byte ranges of one blob, like a video player seeking.
-- BENCH_RANGE_SIZE: blob size; BENCH_RANGE_BYTES: bytes per range.
local size = tonumber(os.getenv("BENCH_RANGE_SIZE"))
local span = tonumber(os.getenv("BENCH_RANGE_BYTES") or "1048576")

function init(args)
  math.randomseed(os.time() + (tonumber(tostring({}):sub(8)) or 0))
end

function request()
  local first = math.random(0, size - span)
  wrk.headers["Range"] = "bytes=" .. first .. "-" .. (first + span - 1)
  return wrk.format("GET")
end
