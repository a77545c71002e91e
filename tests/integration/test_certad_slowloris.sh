#!/usr/bin/env bash
# Slow clients: a client sending one byte a second is cut off when its
# request is not complete within header_timeout (evhttp's idle timeout alone
# would never fire), on the first request of a connection and on a later
# kept-alive one, and during a TLS handshake; meanwhile normal clients on
# the same worker are served without delay. An idle kept-alive connection
# is closed after idle_timeout.
source "$CERTA_SRC/tests/integration/ca_common.sh"
source "$CERTA_SRC/tests/integration/certad_common.sh"

make_ca "$T/ca"
port=$(free_port)
tport=$(free_port)
"$CERTA" key generate --type ec:p256 --out "$T/srv.key" >/dev/null
"$CERTA" csr --key "$T/srv.key" --subject "CN=localhost" --san ip:127.0.0.1 --key-usage ssl-server --out "$T/srv.csr" >/dev/null
"$CERTA" ca issue --dir "$T/ca" --csr "$T/srv.csr" --out "$T/srv.crt" >/dev/null
cat >"$T/certad.conf" <<EOF
[server]
listen = 127.0.0.1:$port
tls_listen = 127.0.0.1:$tport
tls_cert = srv.crt
tls_key = srv.key
workers = 1
max_connections = 8
header_timeout = 3
idle_timeout = 6
[ca]
dir = ca
EOF
# One worker: the slow clients and the normal one share one event loop.
start_certad "http://127.0.0.1:$port" --config "$T/certad.conf"

python3 - "$port" "$tport" <<'EOF' || fail "slow client check"
import http.client, socket, sys, threading, time
port, tport = int(sys.argv[1]), int(sys.argv[2])
HEADER_TIMEOUT = 3

def trickle(sock, data, limit):
    """Send one byte a second; return seconds until the server closed."""
    t0 = time.time()
    for b in data:
        try:
            sock.send(bytes([b]))
        except (BrokenPipeError, ConnectionResetError):
            return time.time() - t0
        sock.settimeout(1.0)
        try:
            if sock.recv(4096) == b"":
                return time.time() - t0
        except socket.timeout:
            pass
        except ConnectionResetError:
            return time.time() - t0
        if time.time() - t0 > limit:
            return None
    return None

results = {}
def slow_first():
    s = socket.create_connection(("127.0.0.1", port))
    results["first"] = trickle(s, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 40 + b"\r\n\r\n", 15)

def slow_second():
    # A normal first request, then the second one trickles in.
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request("GET", "/healthz")
    r = c.getresponse(); r.read()
    assert r.status == 200
    time.sleep(2)   # idle time between requests does not count
    results["second"] = trickle(c.sock, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 40 + b"\r\n\r\n", 15)

def slow_tls():
    # A TLS ClientHello-sized stream of garbage, one byte a second.
    s = socket.create_connection(("127.0.0.1", tport))
    results["tls"] = trickle(s, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40, 15)

threads = [threading.Thread(target=f) for f in (slow_first, slow_second, slow_tls)]
for t in threads: t.start()

worst = 0.0
n = 0
t_end = time.time() + 5
while time.time() < t_end:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    t = time.time()
    c.request("GET", "/healthz")
    r = c.getresponse(); r.read()
    assert r.status == 200, r.status
    worst = max(worst, time.time() - t)
    n += 1
    c.close()
    time.sleep(0.1)
for t in threads: t.join()
print("normal requests:", n, "worst latency %.3f s" % worst)
print("slow clients closed after:", results)
assert worst < 0.5, "a normal client was delayed by the slow ones"
assert results["first"] is not None and HEADER_TIMEOUT - 0.5 <= results["first"] <= HEADER_TIMEOUT + 2, results
assert results["second"] is not None and HEADER_TIMEOUT - 0.5 <= results["second"] <= HEADER_TIMEOUT + 2, results
assert results["tls"] is not None and results["tls"] <= HEADER_TIMEOUT + 2, results
EOF
ok "one byte a second is cut off after header_timeout; normal clients are served meanwhile"

n408=$(grep -c 'status=408' "$T/certad.log" || true)
[ "$n408" -ge 2 ] || fail "expected log lines with status=408 for the slow clients, got $n408"
ok "the cut-off requests are logged (status=408)"

# An idle kept-alive connection is closed by idle_timeout.
python3 - "$port" <<'EOF' || fail "idle timeout"
import http.client, sys, time, socket
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=15)
c.request("GET", "/healthz"); r = c.getresponse(); r.read()
t0 = time.time()
c.sock.settimeout(15)
assert c.sock.recv(1) == b""
dt = time.time() - t0
print("idle connection closed after %.1f s" % dt)
assert 5 <= dt <= 9, dt
EOF
ok "an idle kept-alive connection is closed after idle_timeout"

# A connection flood: past max_connections new connections are closed at
# once (instead of running out of file descriptors); once they go, certad
# accepts again.
python3 - "$port" <<'EOF' || fail "max_connections"
import http.client, socket, sys, time
port = int(sys.argv[1])
held = [socket.create_connection(("127.0.0.1", port)) for _ in range(8)]
time.sleep(0.3)
extra = socket.create_connection(("127.0.0.1", port))
extra.settimeout(2)
t0 = time.time()
try:
    got = extra.recv(1)
except ConnectionResetError:
    got = b""
assert got == b"" and time.time() - t0 < 1.5, "connection over the limit was not closed at once"
for s in held: s.close()
extra.close()
time.sleep(0.3)
c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
c.request("GET", "/healthz"); r = c.getresponse(); r.read()
assert r.status == 200, r.status
EOF
log_wait "$T/certad.log" 'max_connections reached' || fail "the connection limit was not logged"
ok "past max_connections new connections are closed at once; served again when they go"

# Still healthy afterwards.
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz")" = 200 ] || fail "not serving after the slow clients"
ok "certad keeps serving"
