#!/usr/bin/env bash
# ex03_sleep: sequential sleeps add up, threaded and coroutine sleeps overlap.  Checked by
# the order of events (no timing upper bounds) and loose lower bounds.
set -euo pipefail
bin="$LOOM_BUILD_DIR/examples/ex03_sleep"
out=$(timeout 60 "$bin")
echo "$out"
fail() { echo "FAIL: $*" >&2; exit 1; }

section() { # print the lines of section $1 (up to the next unindented line)
  echo "$out" | awk -v s="$1:" '$0 == s {on=1; next} /^[^ ]/ {on=0} on'
}
events() { section "$1" | sed -n 's/.*sleeper \([AB]\) \(starts\|ends\).*/\1 \2/p' | tr '\n' ',' ; }

seq=$(events sequential)
[ "$seq" = "A starts,A ends,B starts,B ends," ] || fail "sequential order: $seq"
overlap() { # overlap SECTION: both sleepers start before either ends, both end
  local ev
  ev=$(events "$1")
  case "$ev" in
    "A starts,B starts,"*|"B starts,A starts,"*) ;;
    *) fail "$1 did not overlap: $ev" ;;
  esac
  echo "$ev" | grep -q "A ends" || fail "$1: A never ended"
  echo "$ev" | grep -q "B ends" || fail "$1: B never ended"
}
overlap "two threads"
# One thread, one loop: the tasks start in spawn order and the shorter ends first.
cor=$(events "two coroutines")
[ "$cor" = "A starts,B starts,A ends,B ends," ] || fail "coroutines order: $cor"

t_seq=$(echo "$out" | awk '/^  sequential /{print $2}')
t_thr=$(echo "$out" | awk '/^  two threads /{print $3}')
t_cor=$(echo "$out" | awk '/^  two coroutines /{print $3}')
awk -v a="$t_seq" 'BEGIN{exit !(a >= 1.69)}' || fail "sequential took $t_seq s, less than 1.7 s"
awk -v a="$t_thr" 'BEGIN{exit !(a >= 0.89)}' || fail "threads took $t_thr s, less than 0.9 s"
awk -v a="$t_cor" 'BEGIN{exit !(a >= 0.89)}' || fail "coroutines took $t_cor s, less than 0.9 s"
echo "ok: sequential $t_seq s, threads $t_thr s, coroutines $t_cor s"
