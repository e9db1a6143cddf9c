#!/usr/bin/env bash
# ex02_task_callback: the task is printed pending before it runs, the done
# callback prints the result, and the task is printed finished with that
# result afterwards - in that order.
set -euo pipefail
bin="$LOOM_BUILD_DIR/examples/ex02_task_callback"
fail() { echo "FAIL: $*" >&2; exit 1; }
out=$(timeout 60 "$bin" 100)
echo "$out"
[ "$(echo "$out" | sed -n 1p)" = "before: <Task pending name='add_up' state=scheduled (not started)>" ] ||
  fail "first line"
[ "$(echo "$out" | sed -n 2p)" = "callback: add_up finished, result is 5050" ] || fail "callback line"
[ "$(echo "$out" | sed -n 3p)" = "after: <Task finished name='add_up' result=0x13ba>" ] ||
  fail "last line"
[ "$(echo "$out" | wc -l)" = 3 ] || fail "expected three lines"
out=$(timeout 60 "$bin" 10)
echo "$out" | grep -qx "callback: add_up finished, result is 55" || fail "n=10"
echo OK
