-- wrk script: POST pre-built JSON bodies in turn, stop after a number of responses.
--
--   wrk -t1 -c8 -d20s -s post.lua http://127.0.0.1:PORT/v1/decisions -- BODIES_FILE CAP
--
-- BODIES_FILE has one JSON body per line. After CAP responses the thread stops and prints
-- "ym-cap-reached" (the driver then interrupts wrk, which otherwise sleeps out -d). Throughput
-- uses a monotonic clock from the first request sent to the last response received; done()
-- prints one "ym-result {json}" line with wrk's latency percentiles (microseconds).

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } ym_timespec;
int clock_gettime(int clk_id, ym_timespec *tp);
]]
local ts = ffi.new("ym_timespec")
local function now()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

local bodies = {}
local count = 0
local cap = 0
sent = 0
completed = 0
non200 = 0
first_sent = -1
last_done = -1

function init(args)
  cap = tonumber(args[2]) or 0
  local headers = { ["Content-Type"] = "application/json" }
  for line in io.lines(args[1]) do
    if #line > 0 then
      bodies[#bodies + 1] = wrk.format("POST", nil, headers, line)
    end
  end
  count = #bodies
end

function request()
  sent = sent + 1
  if first_sent < 0 then first_sent = now() end
  return bodies[(sent - 1) % count + 1]
end

function response(status, headers, body)
  completed = completed + 1
  last_done = now()
  if status ~= 200 then non200 = non200 + 1 end
  if cap > 0 and completed == cap then
    io.stdout:write("ym-cap-reached\n")
    io.stdout:flush()
    wrk.thread:stop()
  end
end

local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function done(summary, latency, requests)
  local total, bad, first, last = 0, 0, math.huge, 0
  for _, t in ipairs(threads) do
    total = total + t:get("completed")
    bad = bad + t:get("non200")
    local f, l = t:get("first_sent"), t:get("last_done")
    if f >= 0 and f < first then first = f end
    if l > last then last = l end
  end
  local e = summary.errors
  io.stdout:write(string.format(
    'ym-result {"completed": %d, "non200": %d, "span_s": %.6f, "wrk_requests": %d, '
      .. '"wrk_duration_s": %.6f, "p50_ms": %.3f, "p90_ms": %.3f, "p99_ms": %.3f, '
      .. '"max_ms": %.3f, "mean_ms": %.3f, "errors": {"connect": %d, "read": %d, '
      .. '"write": %d, "status": %d, "timeout": %d}}\n',
    total, bad, last - first, summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1e3, latency:percentile(90) / 1e3, latency:percentile(99) / 1e3,
    latency.max / 1e3, latency.mean / 1e3,
    e.connect, e.read, e.write, e.status, e.timeout))
  io.stdout:flush()
end
