#!/usr/bin/env bash
# ex17_mp_search: over a generated tree, each query finds exactly the lines
# grep -rnF finds, and every worker exits 0 at the end of stream.
set -euo pipefail
bin="$LOOM_BUILD_DIR/examples/ex17_mp_search"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/a/b" "$dir/c"
for i in $(seq 1 12); do
  sub=$([ $((i % 3)) -eq 0 ] && echo a/b || ([ $((i % 3)) -eq 1 ] && echo c || echo a))
  for j in $(seq 1 40); do echo "file $i line $j word$((i * j % 17)) $([ $((j % 7)) -eq 0 ] && echo needle)"; done > "$dir/$sub/f$i.txt"
done
out=$(timeout 60 "$bin" "$dir" --workers 3 needle word5 nothing-here)
head -5 <<<"$out"
fail() { echo "FAIL: $*" >&2; exit 1; }
for q in needle word5 nothing-here; do
  want=$(grep -rnF -- "$q" "$dir" | sed "s|//|/|" | sort || true)
  got=$(echo "$out" | awk -v q="$q" '/^query /{on = ($0 ~ "^query .'"$q"'.:")} on && /^  /{sub(/^  /, ""); print}' | sort)
  [ "$got" = "$want" ] || { diff <(echo "$want") <(echo "$got") | head; fail "query $q"; }
  n=$(echo -n "$want" | grep -c . || true)
  grep -q "^query '$q': $n lines$" <<<"$out" || fail "count for $q"
done
[ "$(echo "$out" | grep -c '^worker [0-9] exited with 0$')" -eq 3 ] || fail "workers did not all exit 0"
echo OK
