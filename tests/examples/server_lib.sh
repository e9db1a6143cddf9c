# server_lib.sh - sourced (after `set -euo pipefail` and `bin=...`) by the
# example tests that run a server in the background: ex16_cities, ex20_dns,
# ex_echo.  Sets py, log (the server's output), out (a scratch file), pid and
# watchdog; on an error prints both files, on exit kills the server and its
# watchdog and removes them.
py="${LOOM_PYTHON3:-/usr/bin/python3}"
log=$(mktemp)
out=$(mktemp)
pid=
watchdog=
trap 'echo "$0: failed at line $LINENO" >&2; cat "$log" "$out" >&2' ERR
trap '[ -n "$watchdog" ] && pkill -P "$watchdog" 2>/dev/null; kill $pid $watchdog 2>/dev/null || true; rm -f "$log" "$out"' EXIT

# Start "$@" in the background, output to $log.  Not under `timeout`: it
# would forward our SIGTERM to the whole process group a second time, racing
# with the server's own orderly exit; a watchdog kills it after 60 s instead.
start_server() {
  "$@" >"$log" 2>&1 &
  pid=$!
  (sleep 60; kill -9 "$pid") >/dev/null 2>&1 &
  watchdog=$!
}

# Wait until $log matches the grep pattern $1, at most $2 x 50 ms.
wait_log() {
  for _ in $(seq "$2"); do grep -q "$1" "$log" && return 0; sleep 0.05; done
  return 0
}

# start_server "$@" --port P on a port below the ephemeral range (32768+),
# retried if another test has it, until the server says "listening on
# 127.0.0.1:P"; sets port.  Fails if no try succeeded.
start_on_free_port() {
  for _ in 1 2 3 4 5; do
    port=$((10000 + (RANDOM * 7 + $$) % 20000))
    start_server "$@" --port "$port"
    wait_log "listening\|cannot listen" 100
    grep -q "listening on 127.0.0.1:$port" "$log" && return 0
    wait "$pid" || true
  done
  grep -q "listening on 127.0.0.1:$port" "$log"
}
