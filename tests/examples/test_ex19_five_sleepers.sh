#!/usr/bin/env bash
# ex19_five_sleepers: on the virtual clock, exactly the sleepers with a delay
# under 2 s wake before the main task does, and they wake in delay order;
# every sleeper wakes before "Done".
set -euo pipefail
bin="$LOOM_BUILD_DIR/examples/ex19_five_sleepers"
fail() { echo "FAIL: $*" >&2; exit 1; }
for seed in 1 2 3; do
  out=$(timeout 60 "$bin" --virtual --seed $seed)
  echo "$out"
  # Expected order of wake-ups: sort by delay, main's "Waking" at 2.00.
  want=$( (echo "$out" | sed -n 's/^\([0-4]\) sleeps for \([0-9.]*\) seconds$/\2 \1 awakens/p'
           echo "2.00 Z Waking and waiting for five tasks") | sort -n -k1,1 -k2,2 |
         sed 's/^[0-9.]* //; s/^Z //')
  got=$(echo "$out" | grep -E '^[0-4] awakens$|^Waking')
  [ "$got" = "$want" ] || fail "seed $seed: wake-up order
$got
expected
$want"
  [ "$(echo "$out" | tail -1)" = "Done five tasks" ] || fail "no final line"
done
# Real time, shortened: all five still wake before the end.
out=$(timeout 60 "$bin" --scale 0.05 --seed 4)
[ "$(echo "$out" | grep -c 'awakens$')" = 5 ] || fail "real run: not every sleeper woke"
echo OK
