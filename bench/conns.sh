#!/usr/bin/env bash
# Memory per concurrent request: `POST /mcp` (`tools/call list_status_pages` with a read-only API key)
# from `wrk -t2 --timeout 10s` at 64, 1,000 and 4,000 connections, against the release `statusgate`
# binary on SQLite and then against `examples/bare_axum.rs` (fixed bytes, the same runtime and HTTP
# stack). For each level it prints requests/s, p50, p99, non-2xx answers (503s from the request queue
# count here) and socket errors, the server's CPU per request (utime + stime from /proc/PID/stat), and
# the server's largest RSS sampled every 100 ms during the level. One server serves the levels in
# ascending order.
#
#   bench/conns.sh [seconds per level] [levels...]
#
# STATUSGATE_BENCH_BIN=DIR serves with DIR/statusgate and skips the build; STATUSGATE_BENCH_CONFIG=FILE
# serves with that config file instead of none. STATUSGATE_BENCH_BARE=0 skips the bare server.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
shift || true
levels=("$@")
[ ${#levels[@]} -gt 0 ] || levels=(64 1000 4000)

# wrk, the server and the bare server each hold one descriptor per connection.
ulimit -n "$(ulimit -Hn)"

. bench/lib.sh
bench_prepare mcp_bench_setup bare_axum

db=sqlite://$work/bench.db
port=$((20000 + RANDOM % 20000))
public=http://127.0.0.1:$port
TOKEN=$(./target/release/examples/mcp_bench_setup "$db" "$public" | sed -n 2p)
export TOKEN
url=$public/mcp
hz=$(getconf CLK_TCK)

cpu_ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$server/status"; }

# levels LABEL: runs every level against $server, one after the other.
run_levels() {
  local label=$1 c before after line peak now sampler
  curl -s -o /dev/null -X POST "$url" -H "Authorization: Bearer $TOKEN" -d '{}' || true
  wrk -t1 -c1 -d1s -s bench/mcp_call.lua "$url" >/dev/null # warm-up
  echo "$label: RSS at rest $(( $(rss_kib) / 1024 )) MiB"
  for c in "${levels[@]}"; do
    echo 0 >"$work/peak"
    # Samples RSS while wrk runs; the largest sample is the level's figure.
    (
      peak=0
      while kill -0 "$server" 2>/dev/null; do
        now=$(rss_kib)
        [ "$now" -gt "$peak" ] && peak=$now && echo "$peak" >"$work/peak"
        sleep 0.1
      done
    ) &
    sampler=$!
    before=$(cpu_ticks)
    line=$(wrk -t2 -c"$c" -d"${secs}s" --timeout 10s -s bench/mcp_call.lua "$url" | tail -n1)
    after=$(cpu_ticks)
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    printf '%-10s c=%-5s %s  server CPU %.1f us/req  RSS %.0f MiB\n' "$label" "$c" "$line" \
      "$(echo "($after - $before) * 1000000 / $hz / ($(echo "$line" | awk '{print $NF}') + 1)" | bc -l)" \
      "$(echo "$(cat "$work/peak") / 1024" | bc -l)"
  done
  echo "$label: peak RSS (VmHWM) $(awk '/VmHWM/ {printf "%.1f MiB", $2 / 1024}' "/proc/$server/status")"
}

echo "nproc $(nproc), $(uptime | sed 's/.*load/load/'), ${secs} s per level"
STATUSGATE_DATABASE_URL=$db STATUSGATE_BIND=127.0.0.1:$port STATUSGATE_PUBLIC_URL=$public \
  STATUSGATE_DEMO=false STATUSGATE_LOG=error \
  "$statusgate_bin" --config "${STATUSGATE_BENCH_CONFIG:-/dev/null}" serve >"$work/log" 2>&1 &
server=$!
until curl -sf "$public/mcp/health" >/dev/null; do sleep 0.01; done
check=$(curl -s -X POST "$url" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -H 'Accept: application/json, text/event-stream' \
  -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_status_pages","arguments":{}}}')
case $check in *overall_status*) ;; *) echo "unexpected answer: $check"; exit 1 ;; esac
run_levels statusgate
kill "$server"
wait "$server" 2>/dev/null || true
server=

if [ "${STATUSGATE_BENCH_BARE:-1}" != 0 ]; then
  ./target/release/examples/bare_axum "127.0.0.1:$port" &
  server=$!
  until curl -s -o /dev/null -X POST "$url"; do sleep 0.01; done
  run_levels bare_axum
fi
