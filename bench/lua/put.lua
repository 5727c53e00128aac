-- wrk: PUT a 4 KiB body to a fresh key on every request.
-- wrk.path is the URL prefix the server stores under (e.g. /blobs/small/).
local counter = 0
local prefix
local thread_id = 0
local threads = 0

function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end

function init(args)
  prefix = wrk.path
  thread_id = id
  wrk.method = "PUT"
  wrk.body = string.rep("x", tonumber(os.getenv("BENCH_SMALL_BYTES") or "4096"))
  wrk.headers["Content-Type"] = "application/octet-stream"
end

function request()
  counter = counter + 1
  return wrk.format(nil, prefix .. os.getenv("BENCH_RUN_ID") .. "-" .. thread_id .. "-" .. counter)
end
