#!/usr/bin/env bash
# ex08_task_pool: every task runs, never more than the limit at once, and
# the limit is reached; a new task starts only when one finished.
set -euo pipefail
bin="$LOOM_BUILD_DIR/examples/ex08_task_pool"
fail() { echo "FAIL: $*" >&2; exit 1; }
for limit in 1 3 5; do
  out=$(timeout 60 "$bin" --virtual --tasks 15 --limit $limit)
  echo "$out" | tail -3
  [ "$(echo "$out" | grep -c ' start, ')" = 15 ] || fail "limit $limit: not 15 starts"
  [ "$(echo "$out" | grep -c ' done$')" = 15 ] || fail "limit $limit: not 15 completions"
  max=$(echo "$out" | sed -n 's/.* start, \([0-9]*\) in flight.*/\1/p' | sort -n | tail -1)
  [ "$max" = "$limit" ] || fail "limit $limit: max in flight $max"
  echo "$out" | tail -1 | grep -q "^15 tasks finished, at most $limit in flight" || fail "summary"
  # Replay the log: in flight never exceeds the limit.
  echo "$out" | awk -v L=$limit '/ start, /{n++; if (n > L) bad=1} / done$/{n--} END{exit bad}' ||
    fail "limit $limit exceeded"
done
out=$(timeout 60 "$bin" --tasks 6 --limit 2)
echo "$out" | tail -1 | grep -q '^6 tasks finished, at most 2 in flight' || fail "real-clock run"
echo OK
