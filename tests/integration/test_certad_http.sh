#!/usr/bin/env bash
# certad's HTTP layer against real clients (curl, python3 http.client):
# the --dir/--listen form, /healthz, keep-alive on one connection, 404 for
# unknown paths, 413 for an oversize body (default and configured limit),
# one log line per request without query strings, an IPv6 listener.
source "$CERTA_SRC/tests/integration/ca_common.sh"
source "$CERTA_SRC/tests/integration/certad_common.sh"

make_ca "$T/ca"
port=$(free_port)
url=http://127.0.0.1:$port

# The acceptance form: no config file.
start_certad "$url" --dir "$T/ca" --listen "127.0.0.1:$port"

out=$(curl -sS -D "$T/h" "$url/healthz")
grep -q "^HTTP/1.1 200" "$T/h" || fail "healthz status: $(head -1 "$T/h")"
grep -qi "^Content-Type: application/json" "$T/h" || fail "healthz content type"
python3 - "$out" <<'EOF' || fail "healthz body: $out"
import json, sys
d = json.loads(sys.argv[1])
assert d["status"] == "ok", d
assert d["ca"] == "ca", d
assert isinstance(d["services"], list), d
EOF
ok "GET /healthz answers 200 with JSON naming the CA"

[ "$(curl -s -o /dev/null -w '%{http_code}' -I "$url/healthz")" = 200 ] || fail "HEAD /healthz"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -d x "$url/healthz")" = 405 ] || fail "POST /healthz not 405"
ok "HEAD /healthz is 200, POST /healthz is 405"

# Keep-alive: several requests, one TCP connection (same client port).
python3 - "$port" <<'EOF' || fail "keep-alive"
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=5)
ports = set()
for i in range(5):
    c.request("GET", "/healthz")
    r = c.getresponse()
    assert r.status == 200, r.status
    assert r.getheader("Connection", "").lower() != "close"
    r.read()
    ports.add(c.sock.getsockname()[1])
assert len(ports) == 1, ports
EOF
# curl with two URLs says it re-used the connection.
curl -sv -o /dev/null -o /dev/null "$url/healthz" "$url/healthz" 2>"$T/curl.v"
grep -q "Re-using existing connection" "$T/curl.v" || { cat "$T/curl.v"; fail "curl did not re-use the connection"; }
ok "HTTP/1.1 keep-alive serves several requests on one connection"

for p in /nothing /scepx /crl /ca; do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$url$p")" = 404 ] || fail "$p is not 404"
done
ok "unknown paths are 404"

# Body limit: 64 KiB by default. At the limit it reaches the router (404
# here, no service at that path); one byte more is 413.
head -c 65536 /dev/zero >"$T/at"
head -c 65537 /dev/zero >"$T/over"
[ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Expect:' --data-binary @"$T/at" "$url/no-service")" = 404 ] \
  || fail "a 64 KiB body was refused"
[ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Expect:' --data-binary @"$T/over" "$url/no-service")" = 413 ] \
  || fail "a body over 64 KiB was not 413"
# With Expect: 100-continue the refusal comes before the body is sent.
[ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Expect: 100-continue' --data-binary @"$T/over" "$url/no-service")" = 413 ] \
  || fail "Expect: 100-continue over the limit not 413"
ok "a body over the default 64 KiB is answered 413"

# Nothing secret in the log: query strings are not written.
curl -s -o /dev/null "$url/healthz?challengePassword=SECRET123"
sleep 0.2
grep -q SECRET123 "$T/certad.log" && fail "the query string was logged"
lines=$(grep -c 'path=/healthz ' "$T/certad.log")
[ "$lines" -ge 10 ] || fail "expected a log line per /healthz request, got $lines"
grep -q 'method=GET path=/nothing status=404' "$T/certad.log" || fail "no log line for the 404"
grep -q 'status=413' "$T/certad.log" || fail "no log line for the 413"
first=$(grep -m1 'path=/healthz ' "$T/certad.log")
grep -Eq '^time=[0-9T:.-]+Z worker=[0-9]+ remote=127\.0\.0\.1:[0-9]+ tls=0 method=GET path=/healthz status=200 bytes=[0-9]+ ms=[0-9.]+ detail=' <<<"$first" \
  || fail "log line format: $first"
ok "one key=value log line per request, without query strings"
stop_certad

# A configured smaller limit, several listeners, IPv6 when the host has it.
port2=$(free_port)
port3=$(free_port)
ipv6=0
python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1",0))' 2>/dev/null && ipv6=1
{
  echo "[server]"
  echo "listen = 127.0.0.1:$port2"
  echo "listen = 127.0.0.1:$port3"
  [ $ipv6 = 1 ] && echo "listen = [::1]:$port2"
  echo "max_body = 1000"
  echo "workers = 2"
  echo "[ca]"
  echo "dir = ca"
} >"$T/certad.conf"
start_certad "http://127.0.0.1:$port2" --config "$T/certad.conf"
head -c 1000 /dev/zero >"$T/1000"
head -c 1001 /dev/zero >"$T/1001"
[ "$(curl -s -o /dev/null -w '%{http_code}' --data-binary @"$T/1000" "http://127.0.0.1:$port2/no-service")" = 404 ] \
  || fail "a body at max_body was refused"
[ "$(curl -s -o /dev/null -w '%{http_code}' --data-binary @"$T/1001" "http://127.0.0.1:$port2/no-service")" = 413 ] \
  || fail "a body over max_body = 1000 was not 413"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port3/healthz")" = 200 ] || fail "second listener"
if [ $ipv6 = 1 ]; then
  [ "$(curl -s -o /dev/null -w '%{http_code}' -g "http://[::1]:$port2/healthz")" = 200 ] || fail "IPv6 listener"
  log_wait "$T/certad.log" 'remote=\[::1\]:' || fail "IPv6 remote not logged as [::1]:PORT"
  ok "IPv6 listener [::1]"
fi
ok "max_body = 1000 from the config file: 1001 bytes are 413"

# Both workers serve: many short connections land on more than one. They
# come from every CPU in turn, as a worker takes the connections of its
# own CPU (cpu_affinity = auto, test_certad_cpu.sh).
before=$(wc -l <"$T/certad.log")
mapfile -t cpus < <(python3 -c 'import os; print("\n".join(str(c) for c in sorted(os.sched_getaffinity(0))))')
for i in $(seq 1 40); do
  taskset -c "${cpus[$((i % ${#cpus[@]}))]}" curl -s -o /dev/null "http://127.0.0.1:$port2/healthz"
done
sleep 0.2
workers=$(tail -n +"$((before + 1))" "$T/certad.log" | grep -o 'worker=[0-9]*' | sort -u | wc -l)
[ "$workers" -ge 2 ] || fail "only $workers worker served 40 connections"
ok "connections are spread over the worker threads"
stop_certad

# /healthz is 503 when a worker's store cannot be read. A worker whose
# handle has not read yet meets the damaged file (the other may still
# answer from its cache), so several connections are tried.
make_ca "$T/damaged"
port4=$(free_port)
"$CERTAD" --dir "$T/damaged" --listen "127.0.0.1:$port4" --workers 2 2>>"$T/certad.log" &
CERTAD_PID=$!
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$port4/nothing" && break; sleep 0.05; done
head -c 8192 /dev/urandom >"$T/damaged/ca.db"
rm -f "$T/damaged/ca.db-wal" "$T/damaged/ca.db-shm"
got503=0
for _ in $(seq 1 30); do
  code=$(curl -s -o "$T/hz" -w '%{http_code}' "http://127.0.0.1:$port4/healthz")
  if [ "$code" = 503 ]; then got503=1; break; fi
done
[ $got503 = 1 ] || fail "no 503 from /healthz with a damaged store"
grep -q '"status":"unavailable"' "$T/hz" || fail "503 body: $(cat "$T/hz")"
sleep 0.2
log_wait "$T/certad.log" 'path=/healthz status=503 .*detail="store unavailable: ' || fail "503 not logged with its reason"
ok "/healthz answers 503 when the store cannot be read"
stop_certad
