#!/usr/bin/env bash
# demo.sh: shows each section header, runs ex03_sleep and ex16_cities, skips
# what is absent.
set -euo pipefail
fail() { echo "FAIL: $*" >&2; exit 1; }
out=$(timeout 120 bash "$LOOM_SOURCE_DIR/examples/demo.sh" "$LOOM_BUILD_DIR")
echo "$out"
echo "$out" | grep -q '^=== ex03_sleep' || fail "no ex03_sleep header"
echo "$out" | grep -q '^  two threads ' || fail "ex03_sleep did not run"
echo "$out" | grep -q '^  two coroutines ' || fail "ex03_sleep has no coroutine section"
echo "$out" | grep -q '^=== ex12_loiter' || fail "no ex12_loiter header"
if [ ! -x "$LOOM_BUILD_DIR/examples/ex12_loiter" ]; then
  echo "$out" | grep -q 'ex12_loiter is not built' || fail "missing ex12_loiter not reported"
fi
echo "$out" | grep -q '^=== ex16_cities' || fail "no ex16_cities header"
if [ -x "$LOOM_BUILD_DIR/examples/ex16_cities" ]; then
  echo "$out" | grep -q '^coroutines: 10 cities in ' || fail "ex16_cities did not run"
fi
echo ok
