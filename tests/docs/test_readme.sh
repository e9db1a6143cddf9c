#!/usr/bin/env bash
# The C examples in README.md compile against the built library and print
# what the README says they print.
set -euo pipefail
src=${LOOM_SOURCE_DIR:?} build=${LOOM_BUILD_DIR:?}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
awk -v dir="$tmp" '/^```c$/{n++; f=dir "/ex" n ".c"; inblk=1; next} /^```$/{inblk=0; next} inblk{print > f}' "$src/README.md"
ls "$tmp"/ex*.c >/dev/null
flags=$(grep -E '^CMAKE_C_FLAGS:|LOOM_SANITIZE:' "$build/CMakeCache.txt" | sed -n 's/^LOOM_SANITIZE:STRING=\(.\+\)$/-fsanitize=\1/p')
want=("7 squared is 49" "12 squared is 144")
i=0
for c in "$tmp"/ex*.c; do
  gcc -std=gnu17 $flags -I"$src/include" "$c" "$build/libloom.a" -lpthread -lm -ldl -o "${c%.c}"
  out=$(timeout 30 "${c%.c}")
  echo "$out"
  grep -qF "${want[$i]}" <<<"$out" || { echo "README example $((i+1)): expected '${want[$i]}'"; exit 1; }
  i=$((i+1))
done
[ "$i" -eq ${#want[@]} ] || { echo "expected ${#want[@]} C examples in README.md, found $i"; exit 1; }
echo "$i passed, 0 failed"
