#!/usr/bin/env bash
# ex14_spinner: in both styles the spinner animates (several frames, all four
# shapes over a 1 s run), stops and clears its line, and the answer follows;
# the coroutine version shows the spinner task pending before it runs.
set -euo pipefail
bin="$LOOM_BUILD_DIR/examples/ex14_spinner"
fail() { echo "FAIL: $*" >&2; exit 1; }
for style in thread coro; do
  out=$(timeout 60 "$bin" $style 1.0)
  printf '%s\n' "$out" | tr '\r' '\n' | head -5
  frames=$(printf '%s' "$out" | tr '\r' '\n' | grep -c ' thinking!$' || true)
  [ "$frames" -ge 5 ] || fail "$style: only $frames spinner frames"
  for ch in '|' '/' '-' '\\'; do
    printf '%s' "$out" | grep -qF -- "$(printf '%b' "$ch") thinking!" || fail "$style: no '$ch' frame"
  done
  [ "$(printf '%s\n' "$out" | tr '\r' '\n' | tail -1)" = "Answer: 42" ] || fail "$style: no answer"
done
out=$(timeout 60 "$bin" coro 0.3)
printf '%s\n' "$out" | head -1 | grep -qx "spinner object: <Task pending name='spinner' state=scheduled (not started)>" ||
  fail "coro: spinner object line"
"$bin" bogus >/dev/null 2>&1 && fail "bad style accepted"
echo OK
