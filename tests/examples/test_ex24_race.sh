#!/usr/bin/env bash
# ex24_race: updates are lost without synchronisation, none with a loom Lock
# or a loom queue.
set -euo pipefail
bin="$LOOM_BUILD_DIR/examples/ex24_race"
fail() { echo "FAIL: $*" >&2; exit 1; }
out=$(timeout 60 "$bin")
echo "$out"
line() { echo "$out" | grep "^$1" || fail "no line for $1"; }
field() { sed -n 's/.*expected \([0-9]*\), got \([0-9]*\) (\([0-9-]*\) updates lost).*/\1 \2 \3/p'; }

read -r want got lost <<<"$(line 'without a lock:' | field)"
[ "$want" = 800 ] || fail "expected total $want"
[ "$lost" -gt 0 ] && [ "$got" -lt "$want" ] || fail "the race lost nothing ($got of $want)"
read -r want got lost <<<"$(line 'with a lock:' | field)"
[ "$got" = "$want" ] && [ "$lost" = 0 ] || fail "lock: $got of $want"
read -r want got lost <<<"$(line 'with a queue:' | field)"
[ "$got" = "$want" ] && [ "$lost" = 0 ] || fail "queue: $got of $want"
echo ok
