#!/usr/bin/env bash
# Load for the public status page (`GET /status/{slug}`) from wrk, a separate process, on loopback,
# against the release `statusgate` binary: the demo page, the same page revalidated (304) and
# brotli-encoded, and a page with 1,000 components and 10,000 past incidents. Beside each rate it prints
# the server's CPU per request, read from /proc/PID/stat before and after the run.
#
#   bench/status.sh [sqlite|postgres] [seconds]
#
# STATUSGATE_BENCH_BIN=DIR serves with DIR/statusgate (skipping the build). PostgreSQL:
# STATUSGATE_BENCH_PG (default postgres://postgres@127.0.0.1:55432) must accept psql; the database
# statusgate_bench is dropped and created on every run.
set -euo pipefail
cd "$(dirname "$0")/.."
engine=${1:-sqlite}
secs=${2:-10}
pg=${STATUSGATE_BENCH_PG:-postgres://postgres@127.0.0.1:55432}

. bench/lib.sh
bench_prepare status_bench_setup

if [ "$engine" = postgres ]; then
  # PostgreSQL needs the sealing key from outside; SQLite keeps one in a file beside the database.
  export STATUSGATE_KEY_ENCRYPTION_KEY=${STATUSGATE_KEY_ENCRYPTION_KEY:-$(head -c32 /dev/urandom | base64)}
  psql "$pg/postgres" -qAt -c "drop database if exists statusgate_bench" \
    -c "create database statusgate_bench" >/dev/null
  db=$pg/statusgate_bench
else
  db=sqlite://$work/bench.db
fi
./target/release/examples/status_bench_setup "$db" >/dev/null
port=$((20000 + RANDOM % 20000))
public=http://127.0.0.1:$port

echo "engine $engine, nproc $(nproc), $(uptime | sed 's/.*load/load/')"
STATUSGATE_DATABASE_URL=$db STATUSGATE_BIND=127.0.0.1:$port STATUSGATE_PUBLIC_URL=$public \
  STATUSGATE_DEMO=false STATUSGATE_LOG=error "$statusgate_bin" --config /dev/null serve >"$work/log" 2>&1 &
server=$!
until curl -sf "$public/mcp/health" >/dev/null; do sleep 0.01; done

# utime + stime of the server, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }
hz=$(getconf CLK_TCK)

# run LABEL URL [wrk -H arguments...]
run() {
  local label=$1 url=$2
  shift 2
  wrk -t1 -c8 -d1s "$@" "$url" >/dev/null # warm-up: the page is rendered and cached
  local before after line requests
  before=$(cpu_ticks)
  line=$(wrk -t2 -c64 -d"${secs}s" -s bench/get.lua "$@" "$url" | tail -n1)
  after=$(cpu_ticks)
  requests=$(echo "$line" | awk '{print $2}')
  printf '%-28s %s  server CPU %.1f us/req\n' "$label" "$line" \
    "$(echo "($after - $before) * 1000000 / $hz / $requests" | bc -l)"
}

etag=$(curl -sI "$public/status/api" | awk -F': ' 'tolower($1) == "etag" {print $2}' | tr -d '\r')
size=$(curl -s "$public/status/api" | wc -c)
big_size=$(curl -s "$public/status/big" | wc -c)
big_br=$(curl -s -H 'Accept-Encoding: br' "$public/status/big" | wc -c)
echo "demo page $size bytes; big page $big_size bytes ($big_br brotli)"
run "demo 200" "$public/status/api"
run "demo 304 (If-None-Match)" "$public/status/api" -H "If-None-Match: $etag"
run "demo 200 brotli" "$public/status/api" -H "Accept-Encoding: br"
run "big 200 brotli" "$public/status/big" -H "Accept-Encoding: br"
run "big 200" "$public/status/big"
run "badge" "$public/status/api/badge.svg"
echo "peak RSS $(awk '/VmHWM/ {printf "%.1f MiB", $2 / 1024}' "/proc/$server/status")"
echo "rows in sessions after the runs: $(sqlite3 "${db#sqlite://}" 'select count(*) from sessions' 2>/dev/null || echo n/a)"
