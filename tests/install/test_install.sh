#!/usr/bin/env bash
# `make install` works: headers, shared and static libraries, loom.pc and the
# CMake package are installed, and a consumer builds with pkg-config and
# with find_package(loom), against both libraries.
set -euo pipefail
src=${LOOM_SOURCE_DIR:?} build=${LOOM_BUILD_DIR:?}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null
san=$(sed -n 's/^LOOM_SANITIZE:STRING=\(.\+\)$/-fsanitize=\1/p' "$build/CMakeCache.txt")
libdir=$(ls -d "$prefix"/lib*/ | head -1)
for f in include/loom.h include/loom/future.h; do test -f "$prefix/$f"; done
ls "$libdir"libloom.so* "$libdir"libloom.a "$libdir"pkgconfig/loom.pc "$libdir"cmake/loom/loomConfig.cmake >/dev/null
cat > "$tmp/use.c" <<'C'
#include <loom.h>
#include <stdio.h>
static int twice(loom_future *self, void *arg) {
  return loom_future_set_result(self, (void *)(2 * (long)arg), NULL);
}
int main(void) {
  loom_executor *ex;
  if (loom_thread_pool_create(&ex, NULL) < 0) return 1;
  loom_future *f;
  if (loom_executor_submit(ex, twice, (void *)21L, &f) < 0) return 1;
  void *v;
  int rc = loom_future_result(f, 10, &v);
  printf("answer %ld\n", rc == 0 ? (long)v : -1L);
  loom_future_release(f);
  loom_executor_destroy(ex);
  return rc != 0;
}
C
# pkg-config, shared library
export PKG_CONFIG_PATH="${libdir}pkgconfig"
gcc $san "$tmp/use.c" $(pkg-config --cflags --libs loom) -o "$tmp/use_pc"
LD_LIBRARY_PATH="$libdir" "$tmp/use_pc" | grep -qx "answer 42"
# pkg-config, static library
gcc $san "$tmp/use.c" $(pkg-config --cflags loom) "${libdir}libloom.a" $(pkg-config --libs --static loom | sed 's/-lloom//') -o "$tmp/use_static"
"$tmp/use_static" | grep -qx "answer 42"
# CMake find_package
mkdir -p "$tmp/proj"
cp "$tmp/use.c" "$tmp/proj/"
cat > "$tmp/proj/CMakeLists.txt" <<CM
cmake_minimum_required(VERSION 3.20)
project(use C)
find_package(loom REQUIRED)
add_executable(use use.c)
target_compile_options(use PRIVATE $san)
target_link_options(use PRIVATE $san)
target_link_libraries(use PRIVATE loom::loom_static)
CM
cmake -S "$tmp/proj" -B "$tmp/proj/b" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$tmp/proj/b" >/dev/null
"$tmp/proj/b/use" | grep -qx "answer 42"
passed=3
# An LTO build (cmake/lto.cmake) has fat LTO objects in the build tree's
# libloom.a; the installed one must be plain machine code (no .gnu.lto_
# sections, which another gcc version refuses) and link with gcc (with and
# without -flto) and clang.  Only optimised builds have them.
lto_sections() { readelf -S "$1" 2>/dev/null | grep -c '\.gnu\.lto_' || true; }
if [ "$(lto_sections "$build/libloom.a")" -gt 0 ]; then
  n=$(lto_sections "${libdir}libloom.a")
  [ "$n" -eq 0 ] || { echo "installed libloom.a still has $n LTO sections"; exit 1; }
  passed=$((passed + 1))
  static_libs=$(pkg-config --libs --static loom | sed 's/-lloom//')
  for cc in "gcc -O2" "gcc -O2 -flto" "clang"; do
    if ! command -v ${cc%% *} >/dev/null; then echo "no ${cc%% *}: skipped"; continue; fi
    $cc "$tmp/use.c" $(pkg-config --cflags loom) "${libdir}libloom.a" $static_libs -o "$tmp/use_lto"
    "$tmp/use_lto" | grep -qx "answer 42"
    passed=$((passed + 1))
  done
fi
echo "$passed passed, 0 failed"
