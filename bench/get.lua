-- wrk script for bench/status.sh: plain GETs (headers come from -H). Prints the request count,
-- requests/s, p50, p99 and the count of errors and non-2xx/3xx answers on one line.
function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format("requests %d  req/s %.0f  p50 %.2f ms  p99 %.2f ms  errors %d\n",
    summary.requests, summary.requests / secs, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, bad))
end
