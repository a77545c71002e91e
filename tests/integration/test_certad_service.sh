#!/usr/bin/env bash
# The contract between certad and its protocol services (service.h), over
# real HTTP and HTTPS: certad's sources are linked here with test-only
# services (test_certad_service.c) in place of the real table. Checks the
# request fields a service gets, the response headers certad sends, longest-
# prefix routing, [services] NAME = off, setting() with its ca.conf
# fallback, a 500 for a failing handler, tick, revoked after a revocation
# through a worker's handle, stop on reload and on shutdown, and a service
# that fails to start.
source "$CERTA_SRC/tests/integration/ca_common.sh"
source "$CERTA_SRC/tests/integration/certad_common.sh"

# Build certad with the test services (same flags as the build directory).
srcs=()
for f in "$CERTA_SRC"/src/certad/*.c; do
  [ "$(basename "$f")" = services.c ] || srcs+=("$f")
done
pkgs="libevent_core libevent_extra libevent_openssl libevent_pthreads openssl sqlite3 jansson inih"
for p in libpq ldap; do pkg-config --exists "$p" && pkgs="$pkgs $p"; done
san=()
grep -q '^CERTA_SANITIZE:BOOL=ON' "$CERTA_BIN/CMakeCache.txt" && san=(-fsanitize=address,undefined -fno-omit-frame-pointer)
# shellcheck disable=SC2046
cc -std=gnu17 -D_GNU_SOURCE -Wall -Wextra -Werror -g "${san[@]}" -I"$CERTA_SRC/include" -I"$CERTA_SRC/src/certad" \
  -o "$T/certad-test" "${srcs[@]}" "$CERTA_SRC/tests/integration/test_certad_service.c" \
  "$CERTA_BIN/libcerta.a" $(pkg-config --cflags --libs $pkgs) -lpthread \
  || fail "building certad with the test services"
CERTAD="$T/certad-test"

make_ca "$T/ca"
"$CERTA" ca cert --dir "$T/ca" >"$T/ca.pem"
cat >>"$T/ca/ca.conf" <<EOF

[echo]
from_ca_conf = from-ca
greeting = overridden-by-certad-conf
EOF
issue() {   # issue NAME SUBJECT USAGE [SAN...]
  local name=$1 subject=$2 usage=$3; shift 3
  local sans=()
  for s in "$@"; do sans+=(--san "$s"); done
  "$CERTA" key generate --type ec:p256 --out "$T/$name.key" >/dev/null
  "$CERTA" csr --key "$T/$name.key" --subject "$subject" "${sans[@]}" --key-usage "$usage" --out "$T/$name.csr" >/dev/null
  "$CERTA" ca issue --dir "$T/ca" --csr "$T/$name.csr" --out "$T/$name.crt" | sed -n 's/^issued serial=\([0-9A-Fa-f]*\).*/\1/p'
}
issue srv "CN=localhost" ssl-server ip:127.0.0.1 >/dev/null
issue dev "CN=device1,O=certa tests" ssl-client >/dev/null

port=$(free_port)
tport=$(free_port)
url=http://127.0.0.1:$port
write_conf() {   # write_conf GREETING [EXTRA ECHO LINE]
  cat >"$T/certad.conf" <<EOF
[server]
listen = 127.0.0.1:$port
tls_listen = 127.0.0.1:$tport
tls_cert = srv.crt
tls_key = srv.key
tls_client_ca = ca.pem
tls_verify_client = optional
workers = 2
[ca]
dir = ca
[services]
off = off
[echo]
greeting = $1
trace_file = $T/trace
${2:-}
EOF
}
write_conf hello
start_certad "$url" --config "$T/certad.conf"

field() { grep -m1 "^$1=" | cut -d= -f2-; }

grep -q '"services":\["echo","deep"\]' <<<"$(curl -s "$url/healthz")" || fail "healthz services: $(curl -s "$url/healthz")"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/off")" = 404 ] || fail "a service turned off still answers"
ok "[services] off = off leaves that service unstarted; /healthz lists the started ones"

out=$(curl -s -H 'Content-Type: application/x-test' --data-binary 'hello body' "$url/echo?x=1%2B2&y=a+b")
[ "$(echo "$out" | field service)" = echo ] || fail "POST /echo: $out"
[ "$(echo "$out" | field method)" = POST ] || fail "method: $out"
[ "$(echo "$out" | field path)" = /echo ] || fail "path: $out"
[ "$(echo "$out" | field query)" = 'x=1%2B2&y=a+b' ] || fail "query not passed raw: $out"
[ "$(echo "$out" | field content_type)" = application/x-test ] || fail "content type: $out"
[ "$(echo "$out" | field body_len)" = 10 ] && [ "$(echo "$out" | field body)" = "hello body" ] || fail "body: $out"
grep -Eq '^127\.0\.0\.1:[0-9]+$' <<<"$(field remote <<<"$out")" || fail "remote address: $out"
[ "$(echo "$out" | field client)" = - ] || fail "a client certificate over plain HTTP: $out"
[ "$(echo "$out" | field ca)" = ca ] || fail "the worker's CA handle: $out"
ok "a service gets method, decoded path, raw query, content type, body and remote address"

[ "$(curl -s "$url/echo/some%20thing" | field path)" = "/echo/some thing" ] || fail "path not %-decoded"
[ "$(curl -s "$url/echo/deep/x.crl" | field service)" = deep ] || fail "longest prefix /echo/deep/"
[ "$(curl -s "$url/echo/deepx" | field service)" = echo ] || fail "/echo/deepx should go to /echo/"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/echox")" = 404 ] || fail "/echox matched /echo"
ok "routing: the longest matching prefix wins; a prefix without '/' matches only itself"

out=$(curl -s "$url/echo")
[ "$(echo "$out" | field greeting)" = hello ] || fail "setting() from certad's [echo]: $out"
[ "$(echo "$out" | field fallback)" = from-ca ] || fail "setting() fallback to ca.conf: $out"
ok "setting(): certad's [echo] section first, then ca.conf's"

curl -s -D "$T/h" -o "$T/body" "$url/echo/cached"
grep -q '^ETag: "v1"' "$T/h" || fail "ETag not sent: $(cat "$T/h")"
grep -q '^Cache-Control: max-age=60, public' "$T/h" || fail "Cache-Control not sent"
grep -q '^Last-Modified: Tue, 14 Nov 2023 22:13:20 GMT' "$T/h" || fail "Last-Modified: $(grep -i last-mod "$T/h")"
grep -q '^Expires: Sun, 17 Mar 2030 17:46:40 GMT' "$T/h" || fail "Expires: $(grep -i expires "$T/h")"
grep -q '^Content-Type: text/plain' "$T/h" || fail "Content-Type"
[ "$(cat "$T/body")" = "cached body" ] || fail "body"
rm -f "$T/body"
code=$(curl -s -D "$T/h" -o "$T/body" -w '%{http_code}' -H 'If-None-Match: "v1"' "$url/echo/cached")
[ "$code" = 304 ] && [ ! -s "$T/body" ] || fail "If-None-Match: $code"
grep -q '^ETag: "v1"' "$T/h" || fail "304 without its ETag"
ok "ETag, Cache-Control, Last-Modified and Expires are sent; the service's 304 has no body"

[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/echo/fail")" = 500 ] || fail "a failing handler is not 500"
sleep 0.2
log_wait "$T/certad.log" 'path=/echo/fail status=500 .*detail="echo internal error: the echo service failed on purpose"' \
  || fail "500 not logged with the service's error"
log_wait "$T/certad.log" 'path=/echo/cached status=304 .*detail="echo cached"' || fail "log_detail not logged"
ok "a negative handle() is answered 500 and logged with its error; log_detail is logged"

# Over HTTPS the verified client certificate reaches the service.
out=$(curl -s --cacert "$T/ca.pem" --cert "$T/dev.crt" --key "$T/dev.key" "https://127.0.0.1:$tport/echo")
[ "$(echo "$out" | field client)" = "CN=device1, O=certa tests" ] || fail "client_cert: $out"
out=$(curl -s --cacert "$T/ca.pem" "https://127.0.0.1:$tport/echo")
[ "$(echo "$out" | field client)" = - ] || fail "client_cert without one: $out"
ok "the verified TLS client certificate is passed as client_cert"

sleep 2.2
ticks=$(curl -s "$url/echo" | field ticks)
[ "$ticks" -ge 2 ] || fail "tick() called $ticks times in over 2 s"
ok "tick() runs about once a second ($ticks so far)"

# Revocations through the workers' handles reach revoked() of the service.
serials=()
for i in 1 2 3 4; do serials+=("$(issue "d$i" "CN=d$i" ssl-client)"); done
for s in "${serials[@]}"; do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/echo/revoke?serial=$s")" = 200 ] || fail "revoke $s"
done
out=$(curl -s "$url/echo")
[ "$(echo "$out" | field revoked)" = 4 ] || fail "revoked() calls: $out"
last=$(echo "${serials[3]}" | tr 'A-F' 'a-f' | sed 's/^0*//')
[ "$(echo "$out" | field last_serial)" = "$last" ] || fail "revoked() serial: $out (want $last)"
shown=$("$CERTA" ca show --dir "$T/ca" --serial "${serials[0]}")
grep -qi revoked <<<"$shown" || fail "not revoked in the store: $shown"
ok "a revocation through any worker's CA handle calls revoked() with the serial"

# Reload: the services restart with the new settings; the old ones stop.
write_conf "hello again"
kill -HUP "$CERTAD_PID"
for _ in $(seq 1 50); do [ "$(curl -s "$url/echo" | field greeting)" = "hello again" ] && break; sleep 0.1; done
[ "$(curl -s "$url/echo" | field greeting)" = "hello again" ] || fail "reload did not restart the service"
for _ in $(seq 1 20); do grep -q '^stop greeting=hello$' "$T/trace" && break; sleep 0.1; done
grep -q '^stop greeting=hello$' "$T/trace" || { cat "$T/trace"; fail "the replaced service was not stopped"; }
ok "SIGHUP restarts the services with the new settings and stops the replaced ones"

# A service that fails to start on reload: the running one stays.
write_conf "never" "fail = yes"
kill -HUP "$CERTAD_PID"
sleep 0.5
grep -q 'reload failed.*service echo did not start: told to fail' "$T/certad.log" || fail "failed start on reload not logged"
[ "$(curl -s "$url/echo" | field greeting)" = "hello again" ] || fail "a failed reload replaced the service"
ok "a service failing to start on reload keeps the running one"

stop_certad
grep -q '^stop greeting=hello again$' "$T/trace" || { cat "$T/trace"; fail "stop() not called at shutdown"; }
ok "stop() is called at shutdown"

# ... and at startup: one line naming the service, exit 1.
rc=0
"$CERTAD" --config "$T/certad.conf" >"$T/out" 2>"$T/err" || rc=$?
[ $rc = 1 ] && [ "$(wc -l <"$T/err")" = 1 ] && grep -q "service echo did not start: told to fail" "$T/err" \
  || { cat "$T/err"; fail "a service failing at startup: exit $rc"; }
ok "a service failing to start stops certad with one line naming it"
