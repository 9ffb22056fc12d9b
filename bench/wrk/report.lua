-- Shared by the wrk scripts in this directory: at the end of a run, print one line
--   BENCH {"requests":N,"duration_us":N,"rps":X,"p50_us":N,"p99_us":N,"errors":{...}}
-- that bench/lib/run.ts parses. Not a load script on its own (use keepalive.lua).
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"bytes":%d,"rps":%.2f,"p50_us":%d,"p99_us":%d,"mean_us":%.1f,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
    summary.requests, summary.duration, summary.bytes, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99), latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout))
end
