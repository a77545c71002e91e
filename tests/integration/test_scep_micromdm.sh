#!/usr/bin/env bash
# micromdm's scepclient (package scep) enrolls against certad: an RSA CA
# alone and an EC CA with its RA certificate, automatic approval with a
# challenge password, renewal (scepclient sends RenewalReq signed with the
# current certificate), manual approval (PENDING, `certa ca approve`, the
# client's resend after 30 s collects it), and refusals: a used-up
# challenge, and single DES without [scep] legacy = yes (scepclient 2.1
# always encrypts with single DES). Every certificate checked with openssl.
source "$(dirname "$0")/scep_common.sh"
command -v scepclient >/dev/null || { echo "SKIP: scepclient (package scep) not installed"; exit 77; }

# enroll DIR URL ARGS...: scepclient in its own directory (it keeps self.pem
# and csr.pem there), key k.pem, certificate c.pem.
enroll() {
  local d=$1 url=$2; shift 2
  mkdir -p "$d"
  (cd "$d" && timeout 120 scepclient -server-url "$url" -private-key k.pem -certificate c.pem "$@" >>sc.log 2>&1)
}

# --- RSA CA, legacy on (single DES), challenge, renewal ----------------------
new_ca rsa rsa:2048
P=$(free_port)
start_certad rsa "$P" "[scep]" "legacy = yes"
URL="http://127.0.0.1:$P/scep"
pw=$("$CERTA" ca challenge create --dir rsa 2>/dev/null)
enroll d1 "$URL" -challenge "$pw" -cn mdm-dev1 || { cat d1/sc.log; fail "scepclient enrollment (RSA CA)"; }
check_cert rsa d1/c.pem
[[ "$(requester_of rsa mdm-dev1)" == challenge:* ]] || fail "requester not recorded as the challenge"
ok "scepclient enrolled with a challenge password (RSA CA, single DES with legacy = yes)"

first=$(openssl x509 -in d1/c.pem -noout -serial | sed 's/serial=//' | tr A-F a-f | sed 's/^0*//')
cp d1/c.pem d1/old.pem
enroll d1 "$URL" -cn mdm-dev1 || { cat d1/sc.log; fail "scepclient renewal"; }
cmp -s d1/c.pem d1/old.pem && fail "renewal returned the same certificate"
check_cert rsa d1/c.pem
[ "$(requester_of rsa mdm-dev1)" = "cert:$first" ] || fail "renewal not recorded as authenticated by cert:$first"
log_has rsa "RenewalReq txid="
ok "scepclient renewed with RenewalReq signed by its current certificate"

before=$(counts rsa)
enroll d2 "$URL" -challenge "$pw" -cn mdm-dev2 && fail "a used-up challenge password was accepted"
grep -q "badRequest" d2/sc.log || { cat d2/sc.log; fail "reused challenge: no badRequest"; }
[ "$(counts rsa)" = "$before" ] || fail "reused challenge stored something"
log_has rsa "failInfo=badRequest: challenge password used up or expired"
ok "a used-up challenge password is refused with badRequest, nothing stored"
stop_certad

# Without legacy, scepclient's request is refused (badAlg): it signs with
# SHA-1 and envelopes with single DES, both for old devices only.
start_certad rsa "$P"
before=$(counts rsa)
pw=$("$CERTA" ca challenge create --dir rsa 2>/dev/null)
enroll d3 "$URL" -challenge "$pw" -cn mdm-dev3 && fail "single DES accepted without legacy"
grep -q "badAlg" d3/sc.log || { cat d3/sc.log; fail "single DES: no badAlg"; }
[ "$(counts rsa)" = "$before" ] || fail "single DES refusal stored something"
log_has rsa "failInfo=badAlg: SHA-1 digest refused"
ok "SHA-1 and single DES refused with badAlg unless [scep] legacy = yes, nothing stored"
stop_certad

# --- EC CA with its RSA RA certificate ----------------------------------------
new_ca ec ec:p256
P=$(free_port)
start_certad ec "$P" "[scep]" "legacy = yes"
URL="http://127.0.0.1:$P/scep"
[ -s ec/scep-ra.crt ] && [ "$(stat -c %a ec/scep-ra.key)" = 600 ] || fail "RA certificate files"
pw=$("$CERTA" ca challenge create --dir ec 2>/dev/null)
# scepclient encrypts for every certificate GetCACert lists unless one is
# selected by fingerprint: the RA's.
enroll e1 "$URL" -challenge "$pw" -cn mdm-ec1 -ca-fingerprint "$(ra_fingerprint ec)" \
  || { cat e1/sc.log; fail "scepclient enrollment (EC CA + RA)"; }
check_cert ec e1/c.pem
ok "scepclient enrolled through the RA certificate of an EC CA"
stop_certad

# --- manual approval ------------------------------------------------------------
start_certad rsa "$P" "[scep]" "legacy = yes" "profile = manual"
URL="http://127.0.0.1:$P/scep"
mkdir -p m1
(cd m1 && exec timeout 150 scepclient -server-url "$URL" -private-key k.pem -certificate c.pem \
   -challenge device-chosen -cn mdm-manual >sc.log 2>&1) &
client=$!
for _ in $(seq 1 100); do
  id=$("$CERTA" ca requests --dir rsa | awk '$2 == "pending" && /mdm-manual/ { print $1 }')
  [ -n "$id" ] && break
  sleep 0.1
done
[ -n "$id" ] || { cat m1/sc.log; fail "no pending request for the manual profile"; }
grep -q "PENDING" m1/sc.log || fail "scepclient was not told PENDING"
"$CERTA" ca approve --dir rsa "$id" >/dev/null
wait "$client" || { cat m1/sc.log; fail "scepclient did not collect the approved certificate"; }
check_cert rsa m1/c.pem
ok "manual approval: PENDING, approved by the operator, collected by the client's resend"
