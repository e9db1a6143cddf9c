#!/usr/bin/env bash
# test-valgrind.sh - `make test-valgrind`: a fixed subset of the test
# programs and examples, built without sanitizers (build/valgrind, Debug),
# run under valgrind memcheck with --leak-check=full; any memcheck error or
# definite leak fails the run.  Coroutine stacks are registered with
# VALGRIND_STACK_REGISTER (src/coro/coro.c), so task switches are followed.
# Each test still runs in its own forked process (memcheck follows forks
# and checks each child at its exit).  Takes a few minutes; not part of CI.
#
# Left out, each for a limit of valgrind 3.19 (Debian 12), not of loom:
#  - process tests, futures/test_map_process, net/test_subprocess, and the
#    process examples: valgrind has no pidfd_open (ENOSYS), so no worker
#    or child process can start;
#  - net/test_sort_proto: valgrind computes x87 long double at double
#    precision, so the exact int/real comparison sorts 2^53+1 wrongly;
#  - net/test_server: valgrind keeps descriptors of its own near the limit,
#    so the descriptor-exhaustion test never sees EMFILE;
#  - task/test_scale and coro/test_coro: a million tasks or stacks do not fit
#    valgrind's address space (the engine itself runs under memcheck in
#    tests/coro/test_valgrind.sh, part of `make test`).
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build/valgrind}
command -v valgrind >/dev/null || { echo "missing valgrind (scripts/deps.sh coro)"; exit 1; }

tests="futures_test_future futures_test_future_alloc futures_test_map
  futures_test_pool_faults futures_test_thread_pool futures_test_wait
  threads_test_block threads_test_cond_barrier threads_test_event_sem threads_test_lock
  threads_test_queue threads_test_queue_stress threads_test_tasks threads_test_thread
  task_test_cancel task_test_debug task_test_primitives task_test_run
  task_test_task task_test_threads
  combinators_test_faults combinators_test_gather combinators_test_taskgroup
  combinators_test_taskpool combinators_test_timeout
  loop_test_loop loop_test_loop_io loop_test_loop_tasks loop_test_loop_threads
  net_test_addr net_test_cancel net_test_dgram net_test_dns_msg net_test_rbuf
  net_test_resolver net_test_sock net_test_stream net_test_wbuf"
examples=(
  "ex02_task_callback" "ex03_sleep" "ex05_wait_first" "ex06_chain --virtual"
  "ex07_producer_consumer -p 3 -c 4 --seed 444 --virtual"
  "ex08_task_pool --tasks 6 --limit 2" "ex12_loiter --unit 0.2"
  "ex18_find_files $src/src .c --workers 4" "ex19_five_sleepers --virtual --seed 3"
  "ex24_race")

vg() {
  timeout 900 valgrind --leak-check=full --errors-for-leak-kinds=definite \
    --error-exitcode=97 --quiet "$@"
}

failed=0
run() { # name log command...
  local name=$1 log=$2 t0=$SECONDS rc
  shift 2
  vg "$@" >"$log" 2>&1
  rc=$?
  if [ $rc -ne 0 ]; then
    failed=$((failed + 1))
    echo "FAIL $name (exit $rc, $((SECONDS - t0)) s): see $log"
    grep -E "==[0-9]+== |check failed|FAILED" "$log" | head -40
  else
    echo "ok   $name ($((SECONDS - t0)) s)"
  fi
}

mkdir -p "$build/vg-logs"
for t in $tests; do
  run "$t" "$build/vg-logs/$t.log" "$build/tests/$t"
done
for e in "${examples[@]}"; do
  name=${e%% *}
  # shellcheck disable=SC2086 # the arguments are meant to split
  run "$name" "$build/vg-logs/$name.log" "$build/examples/"$e
done
[ $failed -eq 0 ] && echo "valgrind: all clean" || echo "valgrind: $failed program(s) failed"
[ $failed -eq 0 ]
