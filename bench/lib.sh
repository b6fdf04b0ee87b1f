# Sourced by the bench scripts. `bench_prepare EXAMPLE...` builds those examples and the release
# `statusgate` (skipped when STATUSGATE_BENCH_BIN=DIR names a saved build to serve instead), sets
# $statusgate_bin, makes the temp folder $work, and stops $server and removes $work on exit.
bench_prepare() {
  if [ -z "${STATUSGATE_BENCH_BIN:-}" ]; then
    local examples=() e
    for e in "$@"; do examples+=(--example "$e"); done
    cargo build --release --quiet "${examples[@]}" --bin statusgate
  fi
  statusgate_bin=${STATUSGATE_BENCH_BIN:-./target/release}/statusgate
  work=$(mktemp -d)
  server=
  trap bench_cleanup EXIT
}

bench_cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
