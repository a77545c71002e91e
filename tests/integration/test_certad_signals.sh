#!/usr/bin/env bash
# Signals: SIGHUP reloads ca.conf and certad's config without dropping the
# listeners or open connections, and a broken file keeps the running state;
# SIGTERM stops accepting, lets a request in flight finish, and exits 0
# quickly; SIGINT likewise.
source "$CERTA_SRC/tests/integration/ca_common.sh"
source "$CERTA_SRC/tests/integration/certad_common.sh"

make_ca "$T/ca"
port=$(free_port)
url=http://127.0.0.1:$port
cat >"$T/certad.conf" <<EOF
[server]
listen = 127.0.0.1:$port
workers = 2
[ca]
dir = ca
EOF
start_certad "$url" --config "$T/certad.conf"

ca_name() { curl -s "$url/healthz" | python3 -c 'import json,sys; print(json.load(sys.stdin)["ca"])'; }
# Every worker reports NAME (new connections spread over both workers).
wait_name() {
  for _ in $(seq 1 50); do
    local all=1
    for _ in 1 2 3 4 5 6; do [ "$(ca_name)" = "$1" ] || all=0; done
    [ $all = 1 ] && return 0
    sleep 0.1
  done
  return 1
}
[ "$(ca_name)" = ca ] || fail "initial CA name"

# A kept-alive connection opened before the reload is still served after it.
python3 - "$port" "$CERTAD_PID" "$T/ca/ca.conf" <<'EOF' || fail "connection across SIGHUP"
import http.client, json, os, re, signal, sys, time
port, pid, conf = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
c.request("GET", "/healthz"); r = c.getresponse(); assert json.loads(r.read())["ca"] == "ca"
local = c.sock.getsockname()
text = open(conf).read()
open(conf, "w").write(re.sub(r"(?m)^name = .*$", "name = renamed", text, count=1))
os.kill(pid, signal.SIGHUP)
time.sleep(0.5)
c.request("GET", "/healthz"); r = c.getresponse()
assert r.status == 200
assert c.sock.getsockname() == local, "the connection was replaced"
assert json.loads(r.read())["ca"] == "renamed"
EOF
wait_name renamed || fail "after SIGHUP /healthz does not report the new [ca] name"
grep -q 'reloaded: CA renamed' "$T/certad.log" || fail "reload not logged"
ok "SIGHUP reloads ca.conf: /healthz reports the new [ca] name, open connections stay"

# A broken certad config: logged, the running state stays.
cp "$T/certad.conf" "$T/certad.conf.good"
printf '[server]\nlisten = 127.0.0.1:%s\nmax_bodyy = 5\n[ca]\ndir = ca\n' "$port" >"$T/certad.conf"
kill -HUP "$CERTAD_PID"
sleep 0.5
grep -q "reload failed.*unknown key 'max_bodyy'" "$T/certad.log" || { cat "$T/certad.log"; fail "failed reload not logged with its reason"; }
wait_name renamed || fail "a broken config changed the running state"
ok "a broken config file on SIGHUP is logged and certad keeps serving as before"

# A broken ca.conf: same.
cp "$T/certad.conf.good" "$T/certad.conf"
cp "$T/ca/ca.conf" "$T/ca.conf.good"
printf '[ca\nname = broken\n' >"$T/ca/ca.conf"
kill -HUP "$CERTAD_PID"
sleep 0.5
[ "$(grep -c 'reload failed' "$T/certad.log")" = 2 ] || fail "broken ca.conf: reload failure not logged"
wait_name renamed || fail "a broken ca.conf changed the running state"
# A missing CA key: same.
cp "$T/ca.conf.good" "$T/ca/ca.conf"
mv "$T/ca/ca.key" "$T/ca.key.saved"
kill -HUP "$CERTAD_PID"
sleep 0.5
[ "$(grep -c 'reload failed' "$T/certad.log")" = 3 ] || fail "missing ca.key: reload failure not logged"
wait_name renamed || fail "a missing key changed the running state"
mv "$T/ca.key.saved" "$T/ca/ca.key"
ok "a broken ca.conf or a missing key on SIGHUP keeps the running CA"

# Listeners are not re-bound by a reload: changing them is refused.
cp "$T/certad.conf" "$T/certad.conf.good"
printf '[server]\nlisten = 127.0.0.1:%s\nworkers = 2\n[ca]\ndir = ca\n' "$(free_port)" >"$T/certad.conf"
kill -HUP "$CERTAD_PID"
sleep 0.5
grep -q 'reload failed.*change only on restart' "$T/certad.log" || fail "a changed listener was not refused"
wait_name renamed || fail "a refused listener change changed the running state"
cp "$T/certad.conf.good" "$T/certad.conf"
ok "a reload that changes the listeners is refused, the running state kept"

# And a good one afterwards applies again.
sed -i 's/^name = .*/name = again/' "$T/ca/ca.conf"
kill -HUP "$CERTAD_PID"
wait_name again || fail "reload after failed ones"
ok "a good reload after failed ones applies"

# SIGTERM with a request in flight: the listener closes at once, the
# request gets its answer, then certad exits 0.
python3 - "$port" "$CERTAD_PID" <<'EOF' || fail "graceful SIGTERM"
import os, signal, socket, sys, time
port, pid = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port))
s.sendall(b"POST /nothing HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhello")
time.sleep(0.2)
os.kill(pid, signal.SIGTERM)
time.sleep(0.5)
os.kill(pid, 0)     # still running: a request is in flight
try:
    socket.create_connection(("127.0.0.1", port), timeout=1).close()
    raise SystemExit("still accepting new connections after SIGTERM")
except ConnectionRefusedError:
    pass
s.sendall(b"world")
s.settimeout(5)
reply = s.recv(4096)
assert reply.startswith(b"HTTP/1.1 404"), reply[:40]
assert b"\r\nConnection: close\r\n" in reply, reply   # no further request on it
EOF
t0=$(date +%s%N)
rc=0
wait "$CERTAD_PID" || rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
CERTAD_PID=
[ $rc = 0 ] || fail "SIGTERM: exit status $rc"
[ $ms -lt 2000 ] || fail "SIGTERM: exit took $ms ms after the last request"
ok "SIGTERM: stops accepting, finishes the request in flight, exits 0 (${ms} ms after it)"

# SIGTERM and SIGINT on an idle server with kept-alive connections: quick exit 0.
for sig in TERM INT; do
  start_certad "$url" --config "$T/certad.conf"
  python3 - "$port" "$CERTAD_PID" "$sig" <<'EOF' || fail "SIG$sig with an idle connection"
import http.client, os, signal, sys, time
port, pid, sig = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
import socket
c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
c.request("GET", "/healthz"); c.getresponse().read()
silent = socket.create_connection(("127.0.0.1", port))   # connected, sends nothing
time.sleep(0.2)
t0 = time.time()
os.kill(pid, getattr(signal, "SIG" + sig))
for _ in range(100):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        break
    # a zombie until the shell reaps it: check /proc
    try:
        if open("/proc/%d/stat" % pid).read().split(")")[1].split()[0] == "Z":
            break
    except FileNotFoundError:
        break
    time.sleep(0.02)
dt = time.time() - t0
assert dt < 1.5, "exit took %.2f s" % dt
EOF
  rc=0
  wait "$CERTAD_PID" || rc=$?
  CERTAD_PID=
  [ $rc = 0 ] || fail "SIG$sig: exit status $rc"
done
grep -q 'SIGINT: stopping' "$T/certad.log" || fail "SIGINT not logged"
ok "SIGTERM and SIGINT with idle or silent connections exit 0 at once"
