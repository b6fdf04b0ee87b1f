-- wrk script for bench/mcp.sh: one `tools/call list_status_pages` per request, with the bearer token
-- from $TOKEN. Prints requests/s, p50, p99 and the count of non-2xx answers on one line.
wrk.method = "POST"
wrk.body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_status_pages","arguments":{}}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2025-06-18"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format("req/s %.0f  p50 %.2f ms  p99 %.2f ms  errors %d\n",
    summary.requests / secs, latency:percentile(50) / 1000, latency:percentile(99) / 1000, bad))
end
