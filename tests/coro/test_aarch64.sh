#!/usr/bin/env bash
# test_aarch64.sh - cross-build the coroutine engine for aarch64 and run its
# checks (tests/coro/cross_main.c) under qemu-aarch64 user-mode emulation.
# Needs the `cross` deps group (gcc-aarch64-linux-gnu, libc6-dev-arm64-cross,
# qemu-user); `make test` installs it.
set -euo pipefail
src=${LOOM_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${LOOM_BUILD_DIR:-$src/build/asan}
cc=aarch64-linux-gnu-gcc
command -v $cc >/dev/null || { echo "missing $cc (scripts/deps.sh cross)"; exit 1; }
command -v qemu-aarch64 >/dev/null || { echo "missing qemu-aarch64 (scripts/deps.sh cross)"; exit 1; }
out=$build/tests/coro_cross_aarch64
mkdir -p "$(dirname "$out")"
$cc -std=gnu17 -O1 -g -Wall -Wextra -Werror -Wno-unused-parameter -D_GNU_SOURCE \
  -fno-omit-frame-pointer -static \
  -I"$src/include" -I"$src/src" -I"$src/tests/coro" \
  "$src"/src/core/*.c "$src/src/coro/coro.c" "$src/src/coro/stack.c" \
  "$src/src/coro/overflow.c" "$src/src/coro/switch_aarch64.S" \
  "$src/tests/coro/cross_main.c" -o "$out" -lpthread -lm 2> "$out.log" || { cat "$out.log"; exit 1; }
file "$out" | grep -q "ARM aarch64" || { echo "not an aarch64 binary"; exit 1; }
res=$(timeout 120 qemu-aarch64 "$out")
echo "$res"
grep -q "^ok ping_pong$" <<<"$res"
grep -q "^ok callee_saved_registers$" <<<"$res"
grep -q "^ok deep_recursion_and_reuse$" <<<"$res"
grep -q "^ok overflow_report$" <<<"$res"
grep -q "^all ok$" <<<"$res"
