#!/usr/bin/env bash
# The authorization server under `examples/oauth_bench.rs`, served by the release `statusgate` binary in
# its own process (so the CPU per operation and the peak RSS are the server's alone): the demo
# organisation on SQLite in a temp folder, one sign-in, then registrations, consent approvals, code
# exchanges and refresh grants.
#
#   bench/oauth.sh [codes] [refresh seconds]
#
# STATUSGATE_BENCH_BIN=DIR serves with DIR/statusgate and skips the build (the load generator is always
# ./target/release/examples/oauth_bench).
set -euo pipefail
cd "$(dirname "$0")/.."
codes=${1:-2000}
secs=${2:-10}

. bench/lib.sh
bench_prepare oauth_bench

# Every registration comes from 127.0.0.1: the per-address registration budget is lifted.
printf '[oauth]\nregistrations_per_minute = 1000000\nregistration_burst = 1000000\n' >"$work/config.toml"
port=$((20000 + RANDOM % 20000))
public=http://127.0.0.1:$port
echo "nproc $(nproc), $(uptime | sed 's/.*load/load/')"
# The owner's address and password are the ones examples/common/mod.rs signs in with.
STATUSGATE_DATABASE_URL=sqlite://$work/bench.db STATUSGATE_BIND=127.0.0.1:$port \
  STATUSGATE_PUBLIC_URL=$public STATUSGATE_DEMO=true STATUSGATE_LOG=error \
  STATUSGATE_ADMIN_EMAIL=bench@acme.test STATUSGATE_ADMIN_PASSWORD='bench password 123' \
  "$statusgate_bin" --config "$work/config.toml" serve >"$work/log" 2>&1 &
server=$!
until curl -sf "$public/mcp/health" >/dev/null; do sleep 0.01; done
STATUSGATE_BENCH_URL=$public STATUSGATE_BENCH_PID=$server \
  ./target/release/examples/oauth_bench "$codes" "$secs"
