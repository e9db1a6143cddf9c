#!/usr/bin/env bash
# ex16_input_thread: the line typed reaches the main thread through the
# reader thread's future, and the main thread computed while it waited.
set -euo pipefail
bin="$LOOM_BUILD_DIR/examples/ex16_input_thread"
fail() { echo "FAIL: $*" >&2; exit 1; }

# Input arrives after 0.3 s: the main thread must have been computing.
out=$( (sleep 0.3; echo "hello loom") | timeout 60 "$bin")
echo "$out"
echo "$out" | grep -qx 'The reader thread read: "hello loom"' || fail "line not reported"
primes=$(echo "$out" | sed -n 's/.*and found \([0-9]*\) primes.*/\1/p')
[ -n "$primes" ] && [ "$primes" -gt 0 ] || fail "main thread computed nothing while waiting"

# End of input: reported as such, exit 0.
out=$(timeout 60 "$bin" </dev/null)
echo "$out"
echo "$out" | grep -q 'The reader thread failed: end of input before a line' || fail "EOF not reported"
echo ok
