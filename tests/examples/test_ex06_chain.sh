#!/usr/bin/env bash
# ex06_chain: phase 2 starts only after phase 1 finished, and gets its result.
set -euo pipefail
bin="$LOOM_BUILD_DIR/examples/ex06_chain"
out=$(timeout 60 "$bin" --delay 0.05)
echo "$out"
want="in outer
waiting for result1
in phase1
waiting for result2
in phase2
return value: ('result1', 'result2 derived from result1')"
[ "$out" = "$want" ] || { echo "FAIL: unexpected output or order" >&2; exit 1; }
echo OK
