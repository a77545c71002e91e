#!/usr/bin/env bash
# certad's HTTPS listener (libevent_openssl): server certificate issued by
# the CA itself, client certificates verified against tls_client_ca.
# require: refused without a certificate or with one from another CA,
# served with one issued by `certa ca issue`; optional: served without one;
# the verified client subject is in the log. Checked with curl and
# openssl s_client.
source "$CERTA_SRC/tests/integration/ca_common.sh"
source "$CERTA_SRC/tests/integration/certad_common.sh"

make_ca "$T/ca"
make_ca "$T/other"
"$CERTA" ca cert --dir "$T/ca" >"$T/ca.pem"
issue() {   # issue CA NAME SUBJECT USAGE [SAN...]
  local ca=$1 name=$2 subject=$3 usage=$4; shift 4
  local sans=()
  for s in "$@"; do sans+=(--san "$s"); done
  "$CERTA" key generate --type ec:p256 --out "$T/$name.key" >/dev/null
  "$CERTA" csr --key "$T/$name.key" --subject "$subject" "${sans[@]}" --key-usage "$usage" --out "$T/$name.csr" >/dev/null
  "$CERTA" ca issue --dir "$ca" --csr "$T/$name.csr" --out "$T/$name.crt" >/dev/null
}
issue "$T/ca" srv "CN=localhost" ssl-server ip:127.0.0.1 dns:localhost
issue "$T/ca" dev "CN=device1,O=certa tests" ssl-client
issue "$T/other" stranger "CN=stranger" ssl-client

port=$(free_port)
tport=$(free_port)
write_conf() {
  cat >"$T/certad.conf" <<EOF
[server]
listen = 127.0.0.1:$port
tls_listen = 127.0.0.1:$tport
tls_cert = srv.crt
tls_key = srv.key
tls_client_ca = ca.pem
tls_verify_client = $1
[ca]
dir = ca
EOF
}
write_conf require
start_certad "http://127.0.0.1:$port" --config "$T/certad.conf"
turl=https://127.0.0.1:$tport

code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$T/ca.pem" "$turl/healthz" || true)
[ "$code" = 000 ] || fail "require: served without a client certificate ($code)"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$T/ca.pem" --cert "$T/stranger.crt" --key "$T/stranger.key" "$turl/healthz" || true)
[ "$code" = 000 ] || fail "require: served a certificate from another CA ($code)"
ok "require: no certificate, or one from another CA, fails the handshake"
sleep 0.2
log_wait "$T/certad.log" 'TLS handshake failed' || fail "handshake failure not logged"

out=$(curl -sS --cacert "$T/ca.pem" --cert "$T/dev.crt" --key "$T/dev.key" "$turl/healthz")
grep -q '"status":"ok"' <<<"$out" || fail "require: healthz over TLS: $out"
sleep 0.2
log_wait "$T/certad.log" 'tls=1 client="CN=device1' || { cat "$T/certad.log"; fail "client subject not logged"; }
ok "require: a certificate issued by the CA is accepted, its subject logged"

# An independent client: openssl s_client sees the chain and verifies it.
echo | openssl s_client -connect "127.0.0.1:$tport" -CAfile "$T/ca.pem" -cert "$T/dev.crt" -key "$T/dev.key" \
  -verify_return_error -brief 2>"$T/sclient" >/dev/null || true
grep -qi "Verification: OK" "$T/sclient" || { cat "$T/sclient"; fail "openssl s_client did not verify certad"; }
ok "openssl s_client verifies certad's server certificate"

# SIGHUP loads a new server certificate for new connections.
subject_seen() {
  echo | openssl s_client -connect "127.0.0.1:$tport" -CAfile "$T/ca.pem" -cert "$T/dev.crt" -key "$T/dev.key" \
    >"$T/sclient.out" 2>&1
  openssl x509 -in "$T/sclient.out" -noout -subject
}
grep -q "CN = localhost$" <<<"$(subject_seen)" || { cat "$T/sclient.out"; tail "$T/certad.log"; fail "initial server certificate"; }
issue "$T/ca" srv2 "CN=localhost renewed" ssl-server ip:127.0.0.1 dns:localhost
sed -i 's/^tls_cert = .*/tls_cert = srv2.crt/; s/^tls_key = .*/tls_key = srv2.key/' "$T/certad.conf"
kill -HUP "$CERTAD_PID"
for _ in $(seq 1 50); do grep -q "localhost renewed" <<<"$(subject_seen)" && break; sleep 0.1; done
grep -q "localhost renewed" <<<"$(subject_seen)" || fail "SIGHUP did not load the new server certificate"
# Once one worker has it, none serves the old one any more.
for _ in $(seq 1 6); do
  grep -q "CN = localhost$" <<<"$(subject_seen)" && fail "a worker still serves the old certificate after SIGHUP"
done
ok "SIGHUP loads a renewed TLS server certificate"

# Keep-alive over TLS.
curl -sv -o /dev/null -o /dev/null --cacert "$T/ca.pem" --cert "$T/dev.crt" --key "$T/dev.key" \
  "$turl/healthz" "$turl/healthz" 2>"$T/curl.v"
grep -q "Re-using existing connection" "$T/curl.v" || fail "no keep-alive over TLS"
ok "keep-alive over TLS"

# The plain listener is still plain, and unaffected.
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz")" = 200 ] || fail "plain listener"
stop_certad

write_conf optional
start_certad "http://127.0.0.1:$port" --config "$T/certad.conf"
[ "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$T/ca.pem" "$turl/healthz")" = 200 ] || fail "optional: no certificate refused"
[ "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$T/ca.pem" --cert "$T/dev.crt" --key "$T/dev.key" "$turl/healthz")" = 200 ] \
  || fail "optional: a good certificate refused"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$T/ca.pem" --cert "$T/stranger.crt" --key "$T/stranger.key" "$turl/healthz" || true)
[ "$code" = 000 ] || fail "optional: a certificate from another CA was accepted ($code)"
ok "optional: served without a certificate; a presented certificate must verify"
stop_certad

# A TLS listener with a key that does not match the certificate: one line, exit 1.
sed -i 's/^tls_key = .*/tls_key = dev.key/' "$T/certad.conf"
rc=0
"$CERTAD" --config "$T/certad.conf" >"$T/out" 2>"$T/err" || rc=$?
[ $rc = 1 ] || fail "mismatched TLS key: exit $rc"
[ "$(wc -l <"$T/err")" = 1 ] && grep -q "does not match" "$T/err" || { cat "$T/err"; fail "mismatched TLS key message"; }
ok "a TLS key that does not match its certificate is one clear error"
