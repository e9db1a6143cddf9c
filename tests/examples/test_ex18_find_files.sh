#!/usr/bin/env bash
# ex18_find_files: the parallel search finds exactly what find(1) finds,
# does not follow symlinks, and reports an unreadable root without dying.
set -euo pipefail
bin="$LOOM_BUILD_DIR/examples/ex18_find_files"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
# A tree 4 levels deep, 3 wide, with .py and .txt files at each level.
mk() {
  local dir=$1 depth=$2
  touch "$dir/a.py" "$dir/b.txt" "$dir/notes.python.md"
  [ "$depth" -eq 0 ] && return
  for i in 1 2 3; do mkdir "$dir/d$i"; mk "$dir/d$i" $((depth - 1)); done
}
mk "$tmp" 4
ln -s "$tmp/d1" "$tmp/d2/loop"   # a symlink to a directory: not followed
want=$(find "$tmp" -path '*.py*' | grep -v "^$tmp\$" | sort)
got=$(timeout 60 "$bin" "$tmp" .py --workers 4 2>"$tmp.err" | sort)
[ "$got" = "$want" ] || { diff <(echo "$want") <(echo "$got") | head; fail "substring search differs from find"; }
grep -q "matches in 121 directories, 0 unreadable" "$tmp.err" || { cat "$tmp.err"; fail "summary"; }
# A glob on the file name.
want=$(find "$tmp" -name '*.txt' | sort)
got=$(timeout 60 "$bin" "$tmp" '*.txt' 2>/dev/null | sort)
[ "$got" = "$want" ] || fail "glob search differs from find"
[ "$(echo "$got" | wc -l)" -eq 121 ] || fail "expected 121 .txt files"
# A missing root: reported, exit 0, nothing found.
out=$(timeout 60 "$bin" "$tmp/missing" x 2>&1) || fail "missing root made it fail"
echo "$out" | grep -q "skipped: cannot read $tmp/missing: No such file or directory" || fail "no error message: $out"
echo "$out" | grep -q "0 matches in 0 directories, 1 unreadable" || fail "summary for missing root: $out"
rm -f "$tmp.err"
echo OK
