#!/usr/bin/env bash
# ex16_procs: busy processes all exit 0 (their sum checked in the child),
# threads run the same; 20 numbers are factored by a pool map and every
# factorisation multiplies back to its number with prime factors only.
set -euo pipefail
bin="$LOOM_BUILD_DIR/examples/ex16_procs"
out=$(timeout 120 "$bin" --spin 3000000 --seed 7 --workers 2)
echo "$out"
fail() { echo "FAIL: $*" >&2; exit 1; }
grep -q '^busy: 2 processes: .* (all exited 0)$' <<<"$out" || fail "busy processes"
grep -q '^busy: 2 threads: ' <<<"$out" || fail "busy threads"
[ "$(echo "$out" | grep -c '^factors: [0-9]* = ')" -eq 20 ] || fail "not 20 factorisations"
echo "$out" | grep '^factors: ' | "$LOOM_PYTHON3" -c '
import sys
def prime(p):
    return p > 1 and all(p % d for d in range(2, int(p ** 0.5) + 1))
for line in sys.stdin:
    n, rhs = line.split(": ", 1)[1].split(" = ")
    fs = [int(x) for x in rhs.split(" * ")]
    prod = 1
    for f in fs: prod *= f
    assert prod == int(n), line
    assert all(prime(f) for f in fs), line
    assert fs == sorted(fs), line
print("factorisations verified")
'
echo OK
