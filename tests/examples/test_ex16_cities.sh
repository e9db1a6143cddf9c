#!/usr/bin/env bash
# Example 16's ten cities.  (1) The full run: every style prints the ten
# values the endpoint's formula gives (recomputed here in Python), and with a
# 0.2 s delay the thread-pool and coroutine styles beat sequential by more
# than 2x (they take about one delay, sequential ten).  (2) The endpoint alone
# (--serve on a free port), probed by an independent Python client: a city,
# an unknown city (404 JSON), a bad delay (400), a malformed request (400 and
# close), an oversized header (431), keep-alive and pipelined requests; the
# client pointed at it with --url; a clean stop on SIGTERM.
set -euo pipefail
bin="$LOOM_BUILD_DIR/examples/ex16_cities"
source "$(dirname "$0")/server_lib.sh"

check_values() { # file, styles...
  "$py" - "$@" <<'PYEOF'
import re, sys
def value(name):
    h = 2166136261
    for b in name.encode():
        h = ((h ^ b) * 16777619) & 0xffffffff
    return ((h % 451) - 100) / 10.0, 100000 + (h // 451) % 9900000
cities = ["Amsterdam", "Berlin", "Cairo", "Delhi", "Lagos", "Lima", "Oslo", "Paris", "Sydney", "Tokyo"]
text = open(sys.argv[1]).read()
for style in sys.argv[2:]:
    rows = re.findall(r"^  \[%s\] (\S+)\s+(-?\d+\.\d) C  population (\d+)$" % style, text, re.M)
    assert [r[0] for r in rows] == cities, (style, rows)
    for name, t, pop in rows:
        want_t, want_pop = value(name)
        assert t == "%.1f" % want_t and int(pop) == want_pop, (style, name, t, pop, want_t, want_pop)
print("values ok:", " ".join(sys.argv[2:]))
PYEOF
}

# (1) The whole example, endpoint included.
timeout 60 "$bin" --delay 0.2 >"$out"
check_values "$out" sequential threads coroutines
"$py" - "$out" <<'PYEOF'
import re, sys
text = open(sys.argv[1]).read()
t = {m[0]: float(m[1]) for m in re.findall(r"^(\w+): 10 cities in ([\d.]+) s", text, re.M)}
assert set(t) == {"sequential", "threads", "coroutines"}, t
assert t["sequential"] >= 1.99, t          # ten requests of 0.2 s, one after another
for style in ("threads", "coroutines"):
    assert t["sequential"] > 2 * t[style], (style, t)
print("timings ok:", t)
PYEOF

# (2) The endpoint on its own, on a free port.
start_server "$bin" --serve --port 0
wait_log "serving on\|cannot" 200
port=$(sed -n 's/^endpoint: serving on 127.0.0.1:\([0-9]*\).*/\1/p' "$log")
[ -n "$port" ]

timeout 30 "$py" - "$port" <<'PYEOF'
import http.client, json, socket, sys
port = int(sys.argv[1])
def value(name):
    h = 2166136261
    for b in name.encode():
        h = ((h ^ b) * 16777619) & 0xffffffff
    return ((h % 451) - 100) / 10.0, 100000 + (h // 451) % 9900000

# Keep-alive: several requests on one connection.
c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
c.request("GET", "/city/Lima")
r = c.getresponse(); body = json.loads(r.read())
assert r.status == 200 and r.getheader("Content-Type") == "application/json", r.status
t, pop = value("Lima")
assert body == {"city": "Lima", "temperature": t, "population": pop}, body
c.request("GET", "/city/Atlantis")
r = c.getresponse(); body = json.loads(r.read())
assert r.status == 404 and body["error"] == "unknown city" and body["city"] == "Atlantis", body
c.request("GET", "/city/Oslo?delay=abc")
r = c.getresponse(); body = json.loads(r.read())
assert r.status == 400 and body["error"] == "bad delay", (r.status, body)
c.request("GET", "/")
r = c.getresponse(); body = json.loads(r.read())
assert r.status == 200 and len(body["cities"]) == 10, body
c.request("POST", "/city/Lima", body=b"x")
r = c.getresponse(); r.read()
assert r.status == 405, r.status
c.close()

def raw(data, timeout=10):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(data)
    chunks = []
    while True:                      # the server closes after its answer(s)
        b = s.recv(65536)
        if not b: break
        chunks.append(b)
    s.close()
    return b"".join(chunks)

# Malformed: an answer 400, then the connection is closed.
reply = raw(b"GARBAGE / NONSENSE\r\n\r\n")
assert reply.startswith(b"HTTP/1.1 400 "), reply[:80]
# Oversized header (over the 8 KiB limit): 431 and close.
reply = raw(b"GET /city/Paris HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
assert reply.startswith(b"HTTP/1.1 431 "), reply[:80]
# Pipelined: three requests in one write, answered in order; the last
# asks to close.
reply = raw(b"GET /city/Oslo HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET /city/Nowhere HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET /city/Cairo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
parts = reply.split(b"HTTP/1.1 ")[1:]
assert [p[:3] for p in parts] == [b"200", b"404", b"200"], reply
assert b'"city":"Oslo"' in parts[0] and b'"city":"Cairo"' in parts[2], reply
print("endpoint ok")
PYEOF

# The client against this endpoint (no delay: quick).
timeout 60 "$bin" --url "http://127.0.0.1:$port" --delay 0 >"$out"
check_values "$out" sequential threads coroutines

kill -TERM "$pid"
wait "$pid"
grep -q "^endpoint: SIGTERM, [0-9]* requests served" "$log"
echo "ex16_cities: ok"
