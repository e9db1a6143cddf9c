#!/usr/bin/env bash
# ex22_rle_images: four rows (processes/threads x per row/per image), each
# restoring every image exactly after decompression, all four compressing to
# the same size, smaller than the raw bits.
set -euo pipefail
bin="$LOOM_BUILD_DIR/examples/ex22_rle_images"
out=$(timeout 120 "$bin" --images 3 --size 200 --workers 2)
echo "$out"
fail() { echo "FAIL: $*" >&2; exit 1; }
grep -q '^3 images of 200x200 pixels (15000 bytes packed), 2 workers$' <<<"$out" || fail header
rows=$(echo "$out" | grep -E '^(processes|threads) +per (row|image) ')
[ "$(echo "$rows" | grep -c ' exactly$')" -eq 4 ] || fail "not every run restored the images exactly"
sizes=$(echo "$rows" | awk '{print $(NF-1)}' | sort -u)
[ "$(echo "$sizes" | wc -l)" -eq 1 ] || fail "compressed sizes differ: $sizes"
[ "$sizes" -lt 15000 ] || fail "no compression: $sizes"
echo OK
