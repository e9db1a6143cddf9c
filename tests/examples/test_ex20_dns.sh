#!/usr/bin/env bash
# Example 20: the DNS server answers a real client (dig) and survives
# malformed packets (random bytes, truncated queries, a response sent to it),
# answering FORMERR where the header is readable, and keeps serving.
set -euo pipefail
bin="$LOOM_BUILD_DIR/examples/ex20_dns"
source "$(dirname "$0")/server_lib.sh"
start_on_free_port "$bin"

q() { timeout 10 dig @127.0.0.1 -p "$port" +short +tries=1 +time=3 "$@"; }
[ "$(q example.com)" = "93.184.216.34" ]
[ "$(q DB.Loom.Test A)" = "10.0.0.2" ]          # case-insensitive
[ "$(q anything.else.example)" = "127.0.0.1" ]   # the fallback
[ -z "$(q example.com AAAA)" ]                  # no record of that type
timeout 10 dig @127.0.0.1 -p "$port" +tries=1 +time=3 example.com | grep -q "status: NOERROR"

# Malformed packets: the server must answer FORMERR or stay silent, and live.
timeout 20 "$py" - "$port" <<'PYEOF'
import os, random, socket, struct, sys
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.3)
def send(pkt):
    s.sendto(pkt, ("127.0.0.1", port))
    try:
        return s.recvfrom(2048)[0]
    except socket.timeout:
        return None
good = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0) + b"\x07example\x03com\x00" + struct.pack(">HH", 1, 1)
r = send(good[:20])                        # truncated inside the name
assert r is not None and r[:2] == b"\x42\x42" and r[3] & 0x0f == 1, r   # FORMERR
assert send(b"\x01\x02\x03") is None       # shorter than a header: no answer
resp = bytearray(good); resp[2] |= 0x80    # a response: never answered
assert send(bytes(resp)) is None
loop = bytearray(good[:12]) + b"\xc0\x0c" + struct.pack(">HH", 1, 1)   # self pointer
r = send(bytes(loop))
assert r is not None and r[3] & 0x0f == 1, r
random.seed(20)
for _ in range(300):                       # fire and forget
    s.sendto(os.urandom(random.randrange(0, 80)), ("127.0.0.1", port))
# Still alive and correct after them.  UDP may drop under a flood (the
# socket buffer holds ~200 datagrams), so retry like any DNS client does.
s.settimeout(1)
r = None
for attempt in range(10):
    s.sendto(good, ("127.0.0.1", port))
    try:
        while True:
            r = s.recvfrom(2048)[0]
            if r[:2] == b"\x42\x42" and len(r) > 12:
                break
        break
    except socket.timeout:
        r = None
assert r is not None, "no answer after the flood"
assert r[-4:] == bytes([93, 184, 216, 34]), r
print("malformed packets handled")
PYEOF

kill -TERM "$pid"
wait "$pid"
grep -q "query example.com type 1 from 127.0.0.1:.* -> 93.184.216.34" "$log"
grep -q "malformed packet (3 bytes) from .*: truncated packet; no answer" "$log"
grep -Eq "answered [0-9]+ queries, [0-9]+ malformed packets" "$log"
malformed=$(sed -n 's/.*queries, \([0-9]*\) malformed.*/\1/p' "$log")
[ "$malformed" -ge 4 ]
echo "ex20_dns: ok"
