#!/usr/bin/env bash
# ex02_task_callback: the task is PENDING before the loop runs and while it
# runs (asyncio has no RUNNING state for tasks), FINISHED with its result
# after; the done callback runs exactly once and prints the result (or the
# error with --fail).
set -euo pipefail
bin="$LOOM_BUILD_DIR/examples/ex02_task_callback"
fail() { echo "FAIL: $*" >&2; exit 1; }
out=$(timeout 60 "$bin")
echo "$out"
want='before the loop runs: <Task name=my_coroutine state=PENDING>
inside the task: <Task name=my_coroutine state=PENDING>
done callback: task my_coroutine returned "result of my_coroutine"
after the loop ran: <Task name=my_coroutine state=FINISHED result="result of my_coroutine">
the done callback ran 1 time(s)'
[ "$out" = "$want" ] || fail "unexpected output (want:
$want)"

rc=0
out=$(timeout 60 "$bin" --fail) || rc=$?
echo "$out"
[ "$rc" -eq 1 ] || fail "--fail exited $rc, not 1"
echo "$out" | grep -qx 'done callback: task my_coroutine failed: the coroutine gave up' \
  || fail "callback did not see the error"
echo "$out" | grep -qx 'after the loop ran: <Task name=my_coroutine state=FINISHED error=EFAILED (the coroutine gave up)>' \
  || fail "final state does not show the error"
echo "$out" | grep -qx 'the done callback ran 1 time(s)' || fail "callback count"
echo ok
