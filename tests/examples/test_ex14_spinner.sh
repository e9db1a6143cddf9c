#!/usr/bin/env bash
# ex14_spinner: in each version the spinner draws "|", "/", "-", "\" in turn
# (each frame backspaced over), is erased when the answer arrives, and the
# answer 42 follows.  A 0.6 s slow function leaves time for several frames at
# 0.1 s each; the test asks for at least 2 (a loose lower bound).
set -euo pipefail
bin="$LOOM_BUILD_DIR/examples/ex14_spinner"
fail() { echo "FAIL: $*" >&2; exit 1; }
tmp=$(mktemp); trap 'rm -f "$tmp"' EXIT
timeout 60 "$bin" --delay 0.6 >"$tmp"
raw=$(od -An -c "$tmp" | tr -s ' \n' ' ')
out=$(tr '\b' '\n' <"$tmp" | grep -v '^$')
echo "$out"
echo "$raw" | grep -q '| t h i n k i n g ! \\b \\b \\b \\b \\b \\b \\b \\b \\b \\b \\b' \
  || fail "a frame is not followed by 11 backspaces"

section() { echo "$out" | awk -v s="$1 version:" '$0 == s {on=1; next} /version:$/ {on=0} on'; }
check() { # check NAME SPINNER-OBJECT-LINE
  local sec frames expect i=0
  sec=$(section "$1")
  [ "$(echo "$sec" | head -1)" = "spinner object: $2" ] || fail "$1: spinner object line first"
  frames=$(echo "$sec" | sed -n 's/^\(.\) thinking!$/\1/p' | tr -d '\n')
  [ "${#frames}" -ge 2 ] || fail "$1: only ${#frames} frame(s)"
  expect=""
  while [ "${#expect}" -lt "${#frames}" ]; do expect+='|/-\'; done
  [ "$frames" = "${expect:0:${#frames}}" ] || fail "$1: frames out of order: $frames"
  # The last two lines: the blank that erases the spinner, then the answer.
  [ "$(echo "$sec" | tail -1)" = "Answer: 42" ] || fail "$1: no answer at the end"
  echo "$sec" | tail -2 | head -1 | grep -qx ' \{11\}' || fail "$1: spinner not erased"
  echo "$1: ${#frames} frames: $frames"
}
check thread "<Thread name=spinner alive=yes>"
check coroutine "<Task name=spinner state=PENDING>"

out=$(timeout 60 "$bin" --delay 0 --only coroutine | tr '\b' '\n' | grep -v '^$')
echo "$out" | grep -q '^thread version' && fail "--only coroutine ran the thread version"
echo "$out" | grep -qx 'Answer: 42' || fail "no answer with --delay 0"
rc=0; timeout 10 "$bin" --only nope >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "bad --only accepted (exit $rc)"
echo ok
