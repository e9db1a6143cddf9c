#!/usr/bin/env bash
# demo.sh - the main demo (run by `make demo` as: bash examples/demo.sh <builddir>).
# Runs each demo program from <builddir>/examples with a short header;
# a program that is not built (yet) is skipped with a note.
set -u
build=${1:-build/release}
bin="$build/examples"
status=0

header() {
  echo
  echo "=== $1 ==="
  echo "$2"
  echo
}

run() { # run NAME: run the example if it was built
  if [ -x "$bin/$1" ]; then
    timeout 120 "$bin/$1" || status=1
  else
    echo "($1 is not built in $bin: skipped)"
  fi
}

header "ex12_loiter: executor map" \
  "map() runs the loiter jobs in parallel on a thread pool but returns results in order."
run ex12_loiter

header "ex03_sleep: sleeping in sequence, in threads and in coroutines" \
  "Two sleeps of 0.8 s and 0.9 s: one after the other, in two loom threads, then as two
coroutine tasks on one event loop (one thread: the loop overlaps the sleeps)."
run ex03_sleep

header "ex16_cities: ten cities from a local JSON endpoint" \
  "A loom HTTP endpoint answers GET /city/<name> after 0.2 s; the ten cities are fetched one
after another, by a thread pool of libcurl easy handles, and by ten coroutine tasks driving
libcurl's multi interface on the loop."
run ex16_cities

exit $status
