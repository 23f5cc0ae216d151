-- wrk script for the relay benchmark: POSTs a body of BENCH_BODY_BYTES bytes (generated here, so
-- no fixture file) and prints one machine-readable line from done(), which bench.sh parses.
-- Latency percentiles come from wrk's own histogram (microseconds), the same one --latency prints.
local size = tonumber(os.getenv("BENCH_BODY_BYTES") or "1024")

-- A JSON-looking payload like an Agent series post; the content does not matter to either relay,
-- only its length does.
local chunk = '{"metric":"bench.relay","points":[[1700000000,1.5]],"tags":["env:bench"]},'
local body = string.rep(chunk, math.floor(size / #chunk) + 1):sub(1, size)

wrk.method = "POST"
wrk.path = "/api/v2/series"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["DD-API-KEY"] = "00000000000000000000000000000000"

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d bytes=%d p50_us=%d p99_us=%d max_us=%d non2xx=%d " ..
    "err_connect=%d err_read=%d err_write=%d err_timeout=%d\n",
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(99), latency.max, e.status,
    e.connect, e.read, e.write, e.timeout))
end
