#!/usr/bin/env bash
# ex12_loiter: map returns results in input order while the loiter calls
# run in parallel on 3 workers.  Run with a 0.4 s unit: short, with margin
# for thread start-up on a loaded machine.
set -euo pipefail
bin="$LOOM_BUILD_DIR/examples/ex12_loiter"
out=$(timeout 60 "$bin" --unit 0.4)
echo "$out"
fail() { echo "FAIL: $*" >&2; exit 1; }
line() { echo "$out" | grep -n -F -- "$1" | head -1 | cut -d: -f1; }
# Results in input order, with the right values.
got=$(echo "$out" | grep -o 'result [0-9]: [0-9]*' | tr '\n' ',')
[ "$got" = "result 0: 0,result 1: 10,result 2: 20,result 3: 30,result 4: 40," ] ||
  fail "results out of order or wrong: $got"
# Parallel: loiter(2) starts before loiter(1) is done (3 workers), and
# loiter(3) starts before loiter(2) is done.
[ "$(line 'loiter(2): doing nothing')" -lt "$(line 'loiter(1): done.')" ] ||
  fail "loiter(2) did not start while loiter(1) was running"
[ "$(line 'loiter(3): doing nothing')" -lt "$(line 'loiter(2): done.')" ] ||
  fail "loiter(3) did not start while loiter(2) was running"
# Lazy: the map call returned before the work finished.
[ "$(line 'results: <loom_map')" -lt "$(line 'loiter(4): done.')" ] ||
  fail "map() waited for the work instead of returning at once"
# Indentation: loiter(n) messages are indented by n tabs.
echo "$out" | grep -q -P '\] \t\t\tloiter\(3\): done\.' || fail "loiter(3) not indented by 3 tabs"
echo "$out" | grep -q 'Done in' || fail "no final line"
echo OK
