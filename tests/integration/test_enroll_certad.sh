#!/usr/bin/env bash
# SCEP enrollment end to end against certad: an RSA CA issuing at once
# (ca authenticate pinned, enroll, renewal as RenewalReq), an EC CA that
# answers through its RA certificate, and manual approval: the client polls
# with CertPoll until `certa ca approve`, or stops after the retry count
# and `certa enroll --resume` collects the certificate. Skipped while this
# build's certad does not serve SCEP.
source "$(dirname "$0")/enroll_common.sh"
CERTAD="${CERTA_BIN}/certad"
[ -x "$CERTAD" ] || { echo "SKIP: this build has no certad"; exit 77; }
export CERTA_SCEP_POLL_SECONDS=1

# start_certad DIR PORT: certad for the CA in DIR (log DIR/certad.log).
start_certad() {
    "$CERTAD" --dir "$1" --listen "127.0.0.1:$2" --workers 1 >"$1/certad.log" 2>&1 &
    PIDS+=($!)
    wait_http "http://127.0.0.1:$2/healthz"
    local code
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$2/scep?operation=GetCACaps")
    [ "$code" = 200 ] || { echo "SKIP: certad does not serve SCEP in this build (GetCACaps: HTTP $code)"; exit 77; }
}
sha256_pin() { echo "sha256:$(openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f)"; }

# --- RSA CA, automatic issuance, renewal -------------------------------------
"$CERTA" ca init --dir rsa --subject "CN=Certad RSA CA,O=Example" --key rsa:2048 >/dev/null
P1=$(free_port)
start_certad rsa "$P1"
pw=$("$CERTA" ca challenge create --dir rsa --uses 2 2>/dev/null)
"$CERTA" trustpoint add r --protocol scep --url "http://127.0.0.1:$P1/scep" --fingerprint "$(sha256_pin rsa/ca.crt)" \
    --challenge "$pw" --subject "CN=r1.example.com,O=Example"
"$CERTA" ca authenticate r >/dev/null
"$CERTA" enroll r >/dev/null
TP="$CERTA_STATE/trustpoints/r"
openssl verify -CAfile rsa/ca.crt "$TP/cert.pem" >/dev/null || fail "certad certificate does not verify"
cmp <(openssl x509 -in "$TP/cert.pem" -noout -pubkey) <(openssl pkey -in "$CERTA_STATE/keys/r.pem" -pubout) \
    || fail "certificate not for our key"
grep -q 'detail="PKCSReq' rsa/certad.log || fail "certad saw no PKCSReq"
s1=$(openssl x509 -in "$TP/cert.pem" -noout -serial)
"$CERTA" enroll r >/dev/null
s2=$(openssl x509 -in "$TP/cert.pem" -noout -serial)
[ "$s1" != "$s2" ] || fail "renewal installed nothing new"
grep -q 'detail="RenewalReq' rsa/certad.log || fail "renewal was not a RenewalReq"
ok "RSA CA: enrolled and renewed (RenewalReq) through certad"

# A used-up challenge: the CA refuses, the certificate stays.
"$CERTA" trustpoint add r2 --protocol scep --url "http://127.0.0.1:$P1/scep" --challenge "$pw" --subject CN=r2.example.com
"$CERTA" ca authenticate r2 --yes >/dev/null
"$CERTA" enroll r2 >/dev/null
"$CERTA" trustpoint set r2 --subject CN=r2b.example.com
"$CERTA" trustpoint set r2 --challenge "$pw"
rm -f "$CERTA_STATE/trustpoints/r2/cert.pem"
expect_fail 4 "the CA rejected the request: FAILURE with failInfo" "$CERTA" enroll r2
ok "spent challenge: FAILURE named, nothing changed"

# --- EC CA: certad answers through an RSA RA certificate ----------------------
"$CERTA" ca init --dir ec --subject "CN=Certad EC CA" --key ec:p256 >/dev/null
P2=$(free_port)
start_certad ec "$P2"
pw=$("$CERTA" ca challenge create --dir ec 2>/dev/null)
"$CERTA" trustpoint add e --protocol scep --url "http://127.0.0.1:$P2/scep" --fingerprint "$(sha256_pin ec/ca.crt)" \
    --challenge "$pw" --subject CN=e1.example.com
"$CERTA" ca authenticate e >auth.txt
grep -q '^RA certificate' auth.txt || { cat auth.txt; fail "no RA certificate shown"; }
[ -s "$CERTA_STATE/trustpoints/e/ra.pem" ] || fail "ra.pem not stored"
"$CERTA" enroll e >/dev/null
openssl verify -CAfile ec/ca.crt "$CERTA_STATE/trustpoints/e/cert.pem" >/dev/null || fail "EC CA certificate"
ok "EC CA with RA: enrolled"

# --- manual approval: poll until approved; --resume after the retry count ---
"$CERTA" ca init --dir man --subject "CN=Certad Manual CA" --key rsa:2048 >/dev/null
sed -i '/^\[profile default\]/,/^\[/ s/^approval = auto/approval = manual/' man/ca.conf
grep -q '^approval = manual' man/ca.conf || fail "could not set manual approval"
P3=$(free_port)
start_certad man "$P3"
pw=$("$CERTA" ca challenge create --dir man --uses 2 2>/dev/null)
"$CERTA" trustpoint add m --protocol scep --url "http://127.0.0.1:$P3/scep" --fingerprint "$(sha256_pin man/ca.crt)" \
    --challenge "$pw" --subject CN=m1.example.com --retry-count 30
"$CERTA" ca authenticate m >/dev/null
"$CERTA" enroll m >enroll.out 2>enroll.err &
epid=$!
id=
for _ in $(seq 1 100); do
    id=$("$CERTA" ca requests --dir man --json | python3 -c 'import json,sys; a=json.load(sys.stdin); print(a[0]["id"] if a else "")')
    [ -n "$id" ] && break
    sleep 0.1
done
[ -n "$id" ] || fail "no pending request at the CA"
[ -s "$CERTA_STATE/trustpoints/m/scep-pending" ] || fail "pending transaction not saved"
"$CERTA" show certificates m | grep -q 'Status         :Pending' || fail "pending not shown"
sleep 1.5
"$CERTA" ca approve --dir man "$id" >/dev/null
wait "$epid" || { cat enroll.err; fail "enroll did not finish after approval"; }
openssl verify -CAfile man/ca.crt "$CERTA_STATE/trustpoints/m/cert.pem" >/dev/null || fail "approved certificate"
grep -q 'detail="CertPoll' man/certad.log || grep -q 'detail="GetCertInitial' man/certad.log || fail "no CertPoll seen"
[ ! -e "$CERTA_STATE/trustpoints/m/scep-pending" ] || fail "pending state left behind"
ok "manual approval: polled with CertPoll until approved"

"$CERTA" trustpoint add m2 --protocol scep --url "http://127.0.0.1:$P3/scep" --challenge "$pw" --subject CN=m2.example.com \
    --retry-count 1
"$CERTA" ca authenticate m2 --yes >/dev/null
rc=0; "$CERTA" enroll m2 >/dev/null 2>err.txt || rc=$?
[ "$rc" = 5 ] || { cat err.txt; fail "enroll while pending: exit $rc, want 5"; }
grep -q 'still answers PENDING after 1 polls' err.txt && grep -q -- '--resume' err.txt || { cat err.txt; fail "pending message"; }
id=$("$CERTA" ca requests --dir man --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
"$CERTA" ca approve --dir man "$id" >/dev/null
"$CERTA" enroll m2 --resume >/dev/null
openssl verify -CAfile man/ca.crt "$CERTA_STATE/trustpoints/m2/cert.pem" >/dev/null || fail "--resume certificate"
ok "retry count exhausted (exit 5), approved, --resume installed the certificate"
