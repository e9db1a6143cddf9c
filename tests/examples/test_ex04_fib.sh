#!/usr/bin/env bash
# ex04_fib: every section computes the right Fibonacci numbers; the process
# pool section reports each n as it completes and all of them in order; the
# coroutine section spawns exactly one task per call of the recursion.
set -euo pipefail
bin="$LOOM_BUILD_DIR/examples/ex04_fib"
out=$(timeout 120 "$bin" --from 10 --to 27 --workers 2)
echo "$out"
fail() { echo "FAIL: $*" >&2; exit 1; }
# Reference values from a tiny independent computation.
a=0; b=1; declare -A want
for ((n = 0; n <= 27; n++)); do want[$n]=$a; t=$((a + b)); a=$b; b=$t; done
for sec in sequential threads iterative processes; do
  for ((n = 10; n <= 27; n++)); do
    grep -q -x "$sec: fib($n) = ${want[$n]}" <<<"$out" || fail "$sec: fib($n) missing or wrong"
  done
done
[ "$(echo "$out" | grep -c '^processes: done fib(')" -eq 18 ] || fail "not every job reported completion"
# In input order at the end.
got=$(echo "$out" | grep -o '^processes: fib([0-9]*)' | tr -dc '0-9,\n' | tr '\n' ' ')
exp=$(for ((n = 10; n <= 27; n++)); do printf 'processes: fib(%d)\n' $n; done | tr -dc '0-9,\n' | tr '\n' ' ')
[ "$got" = "$exp" ] || fail "results out of input order"
grep -q 'processes: .* s with 2 workers' <<<"$out" || fail "no timing line"
# Coroutines: n = 10..20 (the default --coro-to); fib(n) takes 2*fib(n+1)-1 calls.
for ((n = 10; n <= 20; n++)); do
  calls=$((2 * want[$((n + 1))] - 1))
  grep -q -x "coroutines: fib($n) = ${want[$n]} ($calls tasks)" <<<"$out" \
    || fail "coroutines: fib($n) missing, wrong, or not one task per call"
done
grep -q '^coroutines: fib(21)' <<<"$out" && fail "coroutines went past --coro-to"
grep -q '^coroutines: .* s for [0-9]* tasks, [0-9]* ns per call' <<<"$out" || fail "no coroutine timing"
grep -q '^threads: the range [0-9]* time(s), 1 thread ' <<<"$out" || fail "no 1-thread timing"
grep -q '^threads: the range [0-9]* time(s), 2 threads .*speed-up' <<<"$out" || fail "no 2-thread timing"
out=$(timeout 60 "$bin" --from 0 --to 3 --coro-to 3 --only coroutines)
echo "$out"
[ "$(echo "$out" | grep -c '^coroutines: fib(')" -eq 4 ] || fail "--only coroutines"
grep -q -x 'coroutines: fib(0) = 0 (1 tasks)' <<<"$out" || fail "fib(0) as a coroutine"
grep -q -x 'coroutines: fib(3) = 2 (5 tasks)' <<<"$out" || fail "fib(3) as a coroutine"
timeout 10 "$bin" --to 99 >/dev/null 2>&1 && fail "accepted n > 45"
echo OK
