# certa's CMP client against OpenSSL's own CMP mock server (`openssl cmp
# -port`): MAC protection (ir, certConf, caPubs as the CA), implicit
# confirmation, polling, signature protection with a manufacturer
# certificate, kur with the current certificate, and rr.
source "$(dirname "$0")/ca_common.sh"
export CERTA_STATE="$T/state"
MOCK_PID=
stop_mock() { if [ -n "$MOCK_PID" ]; then kill "$MOCK_PID" 2>/dev/null || true; wait "$MOCK_PID" 2>/dev/null || true; fi; MOCK_PID=; }
trap 'stop_mock; rm -rf "$T"' EXIT
# start_mock LOG ARGS...: the mock on a fresh port ($PORT), ready to serve.
start_mock() {
  local log=$1; shift
  PORT=$(free_port)
  openssl cmp -port "$PORT" -max_msgs 0 -verbosity 7 "$@" >"$log" 2>&1 &
  MOCK_PID=$!
  for _ in $(seq 50); do grep -q ACCEPT "$log" && return 0; sleep 0.1; done
  cat "$log" >&2; fail "the mock server did not start"
}
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256; }

# The certificates the mock hands out: from a certa CA, for certa's keys.
"$CERTA" ca init --dir ca --subject "CN=Mock Issuing CA" >/dev/null
"$CERTA" key generate --type ec:p256 --label dev >/dev/null
"$CERTA" trustpoint add mac --protocol cmp --url "http://127.0.0.1:1/pkix/" --cmp-ref 4711 \
  --cmp-secret s3cret-value --subject CN=dev --key dev --retry-period 1 --retry-count 5
"$CERTA" enroll mac --offline --out dev.csr
"$CERTA" ca issue --dir ca --csr dev.csr --out dev.crt >/dev/null

# ---- MAC: ir, certConf, the CA from caPubs --------------------------------
start_mock mock1.log -srv_ref 4711 -srv_secret pass:s3cret-value -srv_cert ca/ca.crt -srv_key ca/ca.key \
  -rsp_cert dev.crt -rsp_capubs ca/ca.crt
"$CERTA" trustpoint set mac --url "http://127.0.0.1:$PORT/pkix/"
"$CERTA" enroll mac || fail "MAC ir against the mock"
[ "$(fp "$CERTA_STATE/trustpoints/mac/cert.pem")" = "$(fp dev.crt)" ] || fail "installed certificate differs"
[ "$(fp "$CERTA_STATE/trustpoints/mac/ca.pem")" = "$(fp ca/ca.crt)" ] || fail "caPubs not installed as the CA"
grep -q "received IR" mock1.log || fail "no ir"
grep -q "received CERTCONF" mock1.log || fail "no certConf although implicitConfirm was not granted"
stop_mock
ok "MAC ir, certConf, caPubs"

# ---- a wrong secret is refused ----------------------------------------------
start_mock mock2.log -srv_ref 4711 -srv_secret pass:other -srv_cert ca/ca.crt -srv_key ca/ca.key -rsp_cert dev.crt
"$CERTA" trustpoint add bad --protocol cmp --url "http://127.0.0.1:$PORT/pkix/" --cmp-ref 4711 \
  --cmp-secret s3cret-value --subject CN=dev --key dev
if "$CERTA" enroll bad 2>err; then fail "a wrong secret enrolled"; fi
[ ! -e "$CERTA_STATE/trustpoints/bad/cert.pem" ] || fail "certificate installed after a refusal"
stop_mock
ok "wrong secret refused"

# ---- implicit confirmation granted: no certConf ------------------------------
start_mock mock3.log -srv_ref 4711 -srv_secret pass:s3cret-value -srv_cert ca/ca.crt -srv_key ca/ca.key \
  -rsp_cert dev.crt -grant_implicitconf
"$CERTA" trustpoint add imp --protocol cmp --url "http://127.0.0.1:$PORT/pkix/" --cmp-ref 4711 \
  --cmp-secret s3cret-value --subject CN=dev --key dev
"$CERTA" import imp ca/ca.crt --ca >/dev/null
"$CERTA" enroll imp || fail "ir with implicitConfirm"
! grep -q "received CERTCONF" mock3.log || fail "certConf sent although implicitConfirm was granted"
stop_mock
ok "implicitConfirm granted, no certConf"

# ---- polling ------------------------------------------------------------------
start_mock mock4.log -srv_ref 4711 -srv_secret pass:s3cret-value -srv_cert ca/ca.crt -srv_key ca/ca.key \
  -rsp_cert dev.crt -poll_count 2 -check_after 1
"$CERTA" trustpoint add poll --protocol cmp --url "http://127.0.0.1:$PORT/pkix/" --cmp-ref 4711 \
  --cmp-secret s3cret-value --subject CN=dev --key dev --retry-period 1 --retry-count 5
"$CERTA" import poll ca/ca.crt --ca >/dev/null
start=$(date +%s)
"$CERTA" enroll poll || fail "enrollment with polling"
[ "$(grep -c "received POLLREQ" mock4.log)" -ge 2 ] || fail "the client did not poll"
[ $(( $(date +%s) - start )) -ge 1 ] || fail "the client did not wait checkAfter between polls"
stop_mock
ok "polling honours checkAfter"

# ---- signature with a manufacturer certificate (IDevID), then kur and rr ------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout mfr.key -out mfr.crt \
  -subj "/CN=Manufacturer Root" -days 30 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out idev.key 2>/dev/null
openssl req -new -key idev.key -subj "/CN=device-0042/serialNumber=0042" -out idev.csr 2>/dev/null
openssl x509 -req -in idev.csr -CA mfr.crt -CAkey mfr.key -CAcreateserial -days 30 -out idev.crt 2>/dev/null
"$CERTA" key import --label idev idev.key >/dev/null
start_mock mock5.log -srv_cert ca/ca.crt -srv_key ca/ca.key -srv_trusted mfr.crt -rsp_cert dev.crt
"$CERTA" trustpoint add sig --protocol cmp --url "http://127.0.0.1:$PORT/pkix/" --subject CN=dev --key dev \
  --cmp-cert "$T/idev.crt" --cmp-key idev
"$CERTA" import sig ca/ca.crt --ca >/dev/null
"$CERTA" enroll sig || fail "signature-protected ir with the manufacturer certificate"
[ "$(fp "$CERTA_STATE/trustpoints/sig/cert.pem")" = "$(fp dev.crt)" ] || fail "installed certificate differs"
grep -q "received IR" mock5.log || fail "no ir"
stop_mock

# Now the trustpoint has a valid certificate: enroll sends kur signed with it.
start_mock mock6.log -srv_cert ca/ca.crt -srv_key ca/ca.key -srv_trusted ca/ca.crt -rsp_cert dev.crt
"$CERTA" trustpoint set sig --url "http://127.0.0.1:$PORT/pkix/"
"$CERTA" enroll sig || fail "kur"
grep -q "received KUR" mock6.log || fail "enroll with a valid certificate did not send kur"
"$CERTA" revoke sig --reason superseded || fail "rr"
grep -q "received RR" mock6.log || fail "no rr"
stop_mock
ok "signature: manufacturer certificate ir, kur, rr"
