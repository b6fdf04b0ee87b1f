#!/usr/bin/env bash
# Load for `POST /mcp` (`tools/call list_status_pages` with a Bearer access token) from wrk, a separate
# process, on loopback. Prints requests/s, p50 and p99 at concurrency 1 and 64, the server's peak RSS
# (VmHWM) and the release binary's time to ready.
#
#   bench/mcp.sh [sqlite|postgres] [seconds]
#
# STATUSGATE_BENCH_BIN=DIR uses `statusgate` and `mcp_bench_server` from DIR instead of building them
# (to compare a saved build). PostgreSQL: STATUSGATE_BENCH_PG (default postgres://postgres@127.0.0.1:55433) must accept psql; the
# database statusgate_bench is dropped and created on every run.
set -euo pipefail
cd "$(dirname "$0")/.."
engine=${1:-sqlite}
secs=${2:-10}
pg=${STATUSGATE_BENCH_PG:-postgres://postgres@127.0.0.1:55433}

if [ -n "${STATUSGATE_BENCH_BIN:-}" ]; then
  server_bin=$STATUSGATE_BENCH_BIN/mcp_bench_server
  statusgate_bin=$STATUSGATE_BENCH_BIN/statusgate
else
  cargo build --release --quiet --example mcp_bench_server --bin statusgate
  server_bin=./target/release/examples/mcp_bench_server
  statusgate_bin=./target/release/statusgate
fi
work=$(mktemp -d)
server=
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

fresh_db() { # $1: database name; prints its URL
  if [ "$engine" = postgres ]; then
    psql "$pg/postgres" -qAt -c "drop database if exists $1" -c "create database $1" >/dev/null
    echo "$pg/$1"
  else
    echo "sqlite://$work/$1.db"
  fi
}

echo "engine $engine, nproc $(nproc), $(uptime | sed 's/.*load/load/')"

# Throughput and latency.
STATUSGATE_BENCH_DATABASE_URL=$(fresh_db statusgate_bench) \
  "$server_bin" >"$work/out" 2>"$work/err" &
server=$!
for _ in $(seq 200); do grep -q '^ready' "$work/out" && break; sleep 0.05; done
read -r _ port token pid <"$work/out"
export TOKEN=$token
url="http://127.0.0.1:$port/mcp"
check=$(curl -s -X POST "$url" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -H 'Accept: application/json, text/event-stream' \
  -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_status_pages","arguments":{}}}')
case $check in *overall_status*) ;; *) echo "unexpected answer: $check"; exit 1 ;; esac
wrk -t1 -c1 -d2s -s bench/mcp_call.lua "$url" >/dev/null # warm-up
printf 'c=1   '; wrk -t1 -c1 -d"${secs}s" -s bench/mcp_call.lua "$url" | tail -n1
printf 'c=64  '; wrk -t2 -c64 -d"${secs}s" -s bench/mcp_call.lua "$url" | tail -n1
echo "peak RSS $(awk '/VmHWM/ {printf "%.1f MiB", $2 / 1024}' "/proc/$pid/status")"
kill "$server"; wait "$server" 2>/dev/null || true; server=

# Time to ready: the release binary on a fresh database (migrations included), until /mcp/health answers.
ready_port=$((20000 + RANDOM % 20000))
start=$(date +%s%N)
STATUSGATE_DATABASE_URL=$(fresh_db statusgate_ready) STATUSGATE_BIND=127.0.0.1:$ready_port \
  STATUSGATE_PUBLIC_URL=http://127.0.0.1:$ready_port STATUSGATE_DEMO=false STATUSGATE_LOG=error \
  "$statusgate_bin" --config /dev/null serve >/dev/null 2>&1 &
server=$!
until curl -sf "http://127.0.0.1:$ready_port/mcp/health" >/dev/null; do sleep 0.002; done
echo "time to ready $(( ($(date +%s%N) - start) / 1000000 )) ms (fresh database), RSS at ready $(awk '/VmHWM/ {printf "%.1f MiB", $2 / 1024}' "/proc/$server/status")"
