#!/usr/bin/env bash
# ex05_wait_first: wait(FIRST_COMPLETED) returns when the shorter sleep ends;
# the longer one is cancelled (never prints its "Stop"), on the virtual clock
# and on the real one.
set -euo pipefail
bin="$LOOM_BUILD_DIR/examples/ex05_wait_first"
fail() { echo "FAIL: $*" >&2; exit 1; }
check() {
  local out="$1"
  echo "$out"
  [ "$(echo "$out" | grep -c '^Start sleep')" = 2 ] || fail "expected two sleeps to start"
  [ "$(echo "$out" | grep -c '^Stop sleep')" = 1 ] || fail "expected exactly one sleep to finish"
  grep -q '^1 done, 1 pending$' <<<"$out" || fail "wait did not return 1 done / 1 pending"
  grep -q '^Sleep of .* cancelled$' <<<"$out" || fail "the pending sleeper was not cancelled"
  [ "$(echo "$out" | grep -c ': CANCELLED$')" = 1 ] || fail "no task ended CANCELLED"
  [ "$(echo "$out" | grep -c ': FINISHED$')" = 1 ] || fail "no task ended FINISHED"
}
out=$(timeout 60 "$bin" --virtual)
check "$out"
# Virtual time: exactly the shorter sleep (0.8 s), instantly.
grep -q '^First took 0.80s$' <<<"$out" || fail "virtual run did not take 0.80 s"
# Real clock: the two sleeps end 0.1 s apart; on a loaded machine the loop
# may see both done at once, so check consistency rather than the outcome.
out=$(timeout 60 "$bin")
echo "$out"
[ "$(echo "$out" | grep -c '^Start sleep')" = 2 ] || fail "real run: expected two sleeps"
grep -q '^Stop sleep 0.80 s$' <<<"$out" || fail "real run: the short sleep did not finish"
pending=$(echo "$out" | sed -n 's/^[0-9] done, \([0-9]\) pending$/\1/p')
[ "$(echo "$out" | grep -c ': CANCELLED$')" = "$pending" ] || fail "real run: pending not cancelled"
took=$(echo "$out" | sed -n 's/^First took \([0-9.]*\)s$/\1/p')
awk -v t="$took" 'BEGIN { exit !(t >= 0.79) }' || fail "real run took $took s, less than the 0.8 s sleep"
echo OK
