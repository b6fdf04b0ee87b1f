-- wrk script for bench/mcp.sh: one `tools/call list_status_pages` per request, with the bearer token
-- from $TOKEN (bench/conns.sh sets it to an API key). Prints requests/s, p50, p99, the count of non-2xx
-- answers and of socket errors, and the requests made, on one line.
wrk.method = "POST"
wrk.body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_status_pages","arguments":{}}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2025-06-18"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  local socket = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout
  io.write(string.format("req/s %.0f  p50 %.2f ms  p99 %.2f ms  non-2xx %d  socket errors %d  requests %d\n",
    summary.requests / secs, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status, socket, summary.requests))
end
