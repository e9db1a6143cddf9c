#!/usr/bin/env bash
# The echo example: loom's client against loom's server (3 concurrent client
# tasks), an independent client (Python's socket module) against the server,
# a refused connection reported as such, and a clean stop on SIGTERM (the
# server's main task awaits it through a loom_signal_watch).
set -euo pipefail
bin="$LOOM_BUILD_DIR/examples/ex_echo"
source "$(dirname "$0")/server_lib.sh"
start_on_free_port "$bin" server

timeout 30 "$bin" client --port "$port" --clients 3 "hello" "second line" >"$out"
[ "$(grep -c '^client-[123]: echo: hello$' "$out")" = 3 ]
[ "$(grep -c '^client-[123]: echo: second line$' "$out")" = 3 ]
grep -q "client: 3 clients done, 0 failed" "$out"

timeout 20 "$py" - "$port" <<'PYEOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
f = s.makefile("rwb")
for msg in [b"independent\n", b"x" * 3000 + b"\n"]:
    f.write(msg); f.flush()
    assert f.readline() == msg
s.shutdown(socket.SHUT_WR)
assert f.read() == b""   # the server closes after our EOF
print("python client ok")
PYEOF

# Nothing listens on port 1 (tcpmux, unused): the refusal is reported.
if timeout 30 "$bin" client --port 1 "x" >"$out" 2>&1; then exit 1; fi
grep -qi "cannot connect: connection refused" "$out"

kill -TERM "$pid"
wait "$pid"
grep -q "server: got SIGTERM, stopping" "$log"
grep -q "server: echoed 8 lines" "$log"
[ "$(grep -c 'disconnected' "$log")" = 4 ]
echo "ex_echo: ok"
