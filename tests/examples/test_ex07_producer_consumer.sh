#!/usr/bin/env bash
# ex07_producer_consumer: every item produced is consumed exactly once, the
# queue is joined only after the last item was consumed, then every consumer
# is cancelled; the same seed gives the same run (fully, on the virtual
# clock; the same items per producer on the real clock).
set -euo pipefail
bin="$LOOM_BUILD_DIR/examples/ex07_producer_consumer"
fail() { echo "FAIL: $*" >&2; exit 1; }

check_run() { # check_run OUTPUT NCONSUMERS
  local out=$1 ncon=$2 added got
  added=$(echo "$out" | sed -n 's/^Producer [0-9]* added <\([0-9a-f]*\)> to queue\.$/\1/p' | sort)
  got=$(echo "$out" | sed -n 's/^Consumer [0-9]* got element <\([0-9a-f]*\)> in [0-9.]* seconds\.$/\1/p' | sort)
  [ -n "$added" ] || fail "no item produced"
  [ "$added" = "$got" ] || fail "items produced and consumed differ"
  [ -z "$(echo "$got" | uniq -d)" ] || fail "an item was consumed twice"
  local last_got joined
  last_got=$(echo "$out" | grep -n 'got element' | tail -1 | cut -d: -f1)
  joined=$(echo "$out" | grep -n '^Queue joined' | cut -d: -f1)
  [ -n "$joined" ] && [ "$joined" -gt "$last_got" ] || fail "queue joined before the last item was consumed"
  for ((i = 0; i < ncon; i++)); do
    [ "$(echo "$out" | sed -n "$((joined + 1)),\$p" | grep -c "^Consumer $i cancelled\.$")" -eq 1 ] \
      || fail "consumer $i was not cancelled once, after the join"
  done
  echo "$out" | grep -q '^Program completed in [0-9.]* seconds\.$' || fail "no total time"
  for p in $(echo "$out" | sed -n 's/^Producer \([0-9]*\) added.*/\1/p' | sort -u); do
    [ "$(echo "$out" | grep -c "^Producer $p added")" -le 10 ] || fail "producer $p made more than 10 items"
  done
}

v1=$(timeout 60 "$bin" -p 3 -c 4 --seed 444 --virtual)
echo "$v1"
check_run "$v1" 4
v2=$(timeout 60 "$bin" -p 3 -c 4 --seed 444 --virtual)
[ "$v1" = "$v2" ] || fail "same seed on the virtual clock gave a different run"
# 3 producers x up to 10 items x up to 10 units of 0.1 s: virtual time only.
echo "$v1" | grep -q '^Program completed in [1-9]' || fail "virtual run took under a second of loop time"

v3=$(timeout 60 "$bin" -p 3 -c 4 --seed 7 --virtual)
check_run "$v3" 4
[ "$(echo "$v1" | grep added)" != "$(echo "$v3" | grep added)" ] || fail "the seed changes nothing"

r=$(timeout 60 "$bin" -p 3 -c 2 --seed 444 --scale 0.005)
echo "$r"
check_run "$r" 2
items() { echo "$1" | grep '^Producer .* added' | sort; }
[ "$(items "$r")" = "$(items "$v1")" ] || fail "real-clock run made other items than the virtual one"

rc=0; timeout 10 "$bin" -p 0 >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "-p 0 accepted (exit $rc)"
rc=0; timeout 10 "$bin" --bogus >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "unknown option accepted (exit $rc)"
echo ok
