#!/usr/bin/env bash
# ex04_fib: every section computes the right Fibonacci numbers; the process
# pool section reports each n as it completes and all of them in order.
set -euo pipefail
bin="$LOOM_BUILD_DIR/examples/ex04_fib"
out=$(timeout 120 "$bin" --from 10 --to 27 --workers 2)
echo "$out"
fail() { echo "FAIL: $*" >&2; exit 1; }
# Reference values from a tiny independent computation.
a=0; b=1; declare -A want
for ((n = 0; n <= 27; n++)); do want[$n]=$a; t=$((a + b)); a=$b; b=$t; done
for sec in sequential iterative processes; do
  for ((n = 10; n <= 27; n++)); do
    echo "$out" | grep -q -x "$sec: fib($n) = ${want[$n]}" || fail "$sec: fib($n) missing or wrong"
  done
done
[ "$(echo "$out" | grep -c '^processes: done fib(')" -eq 18 ] || fail "not every job reported completion"
# In input order at the end.
got=$(echo "$out" | grep -o '^processes: fib([0-9]*)' | tr -dc '0-9,\n' | tr '\n' ' ')
exp=$(for ((n = 10; n <= 27; n++)); do printf 'processes: fib(%d)\n' $n; done | tr -dc '0-9,\n' | tr '\n' ' ')
[ "$got" = "$exp" ] || fail "results out of input order"
echo "$out" | grep -q 'processes: .* s with 2 workers' || fail "no timing line"
timeout 10 "$bin" --to 99 >/dev/null 2>&1 && fail "accepted n > 45"
echo OK
