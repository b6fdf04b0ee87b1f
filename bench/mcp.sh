#!/usr/bin/env bash
# Load for `POST /mcp` (`tools/call list_status_pages` with a Bearer access token) from wrk, a separate
# process, on loopback, against the release `statusgate` binary. Prints the time from start to ready
# (an already-migrated database), requests/s, p50 and p99 at concurrency 1 and 64, the server's CPU per
# request (utime + stime from /proc/PID/stat over the run, divided by the requests), and the server's
# peak RSS (VmHWM).
#
#   bench/mcp.sh [sqlite|postgres] [seconds]
#
# STATUSGATE_BENCH_BIN=DIR serves with DIR/statusgate instead of ./target/release/statusgate (to compare
# a saved build) and skips the build step. STATUSGATE_BENCH_CONFIG=FILE serves with that config file
# (e.g. one with `[mcp] direct_dispatch = false`, to measure the SDK-only path) instead of none. PostgreSQL: STATUSGATE_BENCH_PG (default postgres://postgres@127.0.0.1:55433) must
# accept psql; the database statusgate_bench is dropped and created on every run.
set -euo pipefail
cd "$(dirname "$0")/.."
engine=${1:-sqlite}
secs=${2:-10}
pg=${STATUSGATE_BENCH_PG:-postgres://postgres@127.0.0.1:55433}

. bench/lib.sh
bench_prepare mcp_bench_setup

if [ "$engine" = postgres ]; then
  psql "$pg/postgres" -qAt -c "drop database if exists statusgate_bench" \
    -c "create database statusgate_bench" >/dev/null
  db=$pg/statusgate_bench
else
  db=sqlite://$work/bench.db
fi
port=$((20000 + RANDOM % 20000))
public=http://127.0.0.1:$port
TOKEN=$(./target/release/examples/mcp_bench_setup "$db" "$public" | sed -n 1p)
export TOKEN

echo "engine $engine, nproc $(nproc), $(uptime | sed 's/.*load/load/')"
start=$(date +%s%N)
STATUSGATE_DATABASE_URL=$db STATUSGATE_BIND=127.0.0.1:$port STATUSGATE_PUBLIC_URL=$public \
  STATUSGATE_DEMO=false STATUSGATE_LOG=error "$statusgate_bin" --config "${STATUSGATE_BENCH_CONFIG:-/dev/null}" serve >"$work/log" 2>&1 &
server=$!
until curl -sf "$public/mcp/health" >/dev/null; do sleep 0.002; done
echo "ready after $(( ($(date +%s%N) - start) / 1000000 )) ms"

url=$public/mcp
check=$(curl -s -X POST "$url" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -H 'Accept: application/json, text/event-stream' \
  -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_status_pages","arguments":{}}}')
case $check in *overall_status*) ;; *) echo "unexpected answer: $check"; exit 1 ;; esac
wrk -t1 -c1 -d2s -s bench/mcp_call.lua "$url" >/dev/null # warm-up

# utime + stime of the server, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }
hz=$(getconf CLK_TCK)
# run LABEL THREADS CONNECTIONS
run() {
  local before after line
  before=$(cpu_ticks)
  line=$(wrk -t"$2" -c"$3" -d"${secs}s" -s bench/mcp_call.lua "$url" | tail -n1)
  after=$(cpu_ticks)
  printf '%-5s %s  server CPU %.1f us/req\n' "$1" "$line" \
    "$(echo "($after - $before) * 1000000 / $hz / $(echo "$line" | awk '{print $NF}')" | bc -l)"
}
run c=1 1 1
run c=64 2 64
echo "peak RSS $(awk '/VmHWM/ {printf "%.1f MiB", $2 / 1024}' "/proc/$server/status")"
