#!/usr/bin/env bash
# ex01_encrypt: the three ways encrypt every file (openssl decrypts each back
# to the original), report each path, and a job that cannot write its output
# fails alone with a message while the others complete.
set -euo pipefail
bin="$LOOM_BUILD_DIR/examples/ex01_encrypt"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/sub/deeper"
head -c 100000 /dev/urandom > "$dir/big.bin"
echo "hello loom" > "$dir/sub/hello.txt"
: > "$dir/sub/deeper/empty.txt"
for i in 1 2 3 4 5; do seq 1 $((i * 1000)) > "$dir/sub/seq$i.txt"; done
out=$(timeout 120 "$bin" "$dir" --password s3cret --workers 2)
tail -5 <<<"$out"
fail() { echo "FAIL: $*" >&2; exit 1; }
grep -q '^8 files under ' <<<"$out" || fail "file count"
for way in map submit loop; do
  [ "$(echo "$out" | grep -c "^$way: $dir/")" -eq 8 ] || fail "$way did not report 8 paths"
  for f in "$dir/big.bin" "$dir/sub/hello.txt" "$dir/sub/deeper/empty.txt" "$dir/sub/seq3.txt"; do
    openssl enc -d -aes-256-cbc -pbkdf2 -pass pass:s3cret -in "$f.$way.enc" | cmp - "$f" ||
      fail "$way: $f does not decrypt to the original"
  done
done
grep -q '^loop: the ticker task ran on while' <<<"$out" || fail "the loop was blocked"
grep -q '^0 failed$' <<<"$out" || fail "failures reported"
# Per-job failure: the output of one file cannot be written (a directory is
# in the way); that job fails with a message, the other seven succeed.
rm -f "$dir"/*.enc "$dir"/sub/*.enc "$dir"/sub/deeper/*.enc
mkdir "$dir/sub/hello.txt.submit.enc"
set +e
out=$(timeout 120 "$bin" "$dir" --password s3cret --workers 2 --way submit)
rc=$?
set -e
tail -3 <<<"$out"
[ $rc -eq 1 ] || fail "exit code $rc with a failed job"
grep -q "^submit: $dir/sub/hello.txt: FAILED: cannot write the output$" <<<"$out" || fail "no failure line"
[ "$(echo "$out" | grep "^submit: $dir/" | grep -vc FAILED)" -eq 7 ] || fail "the other 7 did not complete"
grep -q '^1 failed$' <<<"$out" || fail "count of failures"
echo OK
