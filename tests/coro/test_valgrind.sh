#!/usr/bin/env bash
# test_valgrind.sh - the engine checks (tests/coro/cross_main.c: switches,
# callee-saved registers, deep recursion, stack reuse, the overflow report)
# built natively without sanitizers and run under valgrind memcheck, which
# must follow every stack switch (VALGRIND_STACK_REGISTER) without a single
# error.  valgrind comes from the `coro` deps group.
set -euo pipefail
src=${LOOM_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${LOOM_BUILD_DIR:-$src/build/asan}
command -v valgrind >/dev/null || { echo "missing valgrind (scripts/deps.sh coro)"; exit 1; }
arch=$(uname -m)
out=$build/tests/coro_valgrind_native
mkdir -p "$(dirname "$out")"
gcc -std=gnu17 -O1 -g -Wall -Wextra -Werror -Wno-unused-parameter -D_GNU_SOURCE \
  -fno-omit-frame-pointer -I"$src/include" -I"$src/src" -I"$src/tests/coro" \
  "$src"/src/core/*.c "$src/src/coro/coro.c" "$src/src/coro/stack.c" \
  "$src/src/coro/overflow.c" "$src/src/coro/switch_$arch.S" \
  "$src/tests/coro/cross_main.c" -o "$out" -lpthread -lm
res=$(timeout 300 valgrind --error-exitcode=9 --quiet "$out" 2>"$out.vg.log") || {
  cat "$out.vg.log"; echo "$res"; echo "FAIL: valgrind reported errors"; exit 1; }
echo "$res"
grep -q "^all ok$" <<<"$res"
if grep -q "Invalid\|uninitialised\|definitely lost" "$out.vg.log"; then
  cat "$out.vg.log"; echo "FAIL: memcheck errors"; exit 1
fi
echo OK
