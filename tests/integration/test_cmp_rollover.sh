# CMP root CA update (RFC 9483 4.3.2) against certad: with a rollover CA
# ([ca] next_ca_cert, made by `certa ca init` elsewhere) and its link
# certificate, `certa ca rollover` stores next-ca.pem identical to it and
# leaves ca.pem alone; without one it stores nothing. OpenSSL 3.0's
# `openssl cmp -cmd genm -infotype rootCaKeyUpdate` asks too (3.0 names
# id-it-rootCaKeyUpdate; it cannot send id-it-rootCaCert, which it does not
# know, and prints only the infoType of the answer). A bad next CA stops
# certad at start. SCEP's GetNextCACert serves the [ca] setting as well.
source "$(dirname "$0")/scep_common.sh"
P=$(free_port)
URL="http://127.0.0.1:$P"
STATE="$T/state"
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256; }

"$CERTA" ca init --dir ca --subject "CN=CMP Roll CA" >/dev/null
"$CERTA" ca init --dir next --subject "CN=CMP Roll CA G2" >/dev/null
cp next/ca.crt ca/next-ca.crt
# newWithOld: the new root's key certified by the current CA key
openssl x509 -x509toreq -in next/ca.crt -signkey next/ca.key -out next.csr 2>/dev/null
openssl x509 -req -in next.csr -CA ca/ca.crt -CAkey ca/ca.key -set_serial 77 -days 30 -out ca/link.crt 2>/dev/null
cp ca/ca.conf ca/ca.conf.orig
printf '\n[ca]\nnext_ca_cert = next-ca.crt\nnext_ca_cross_cert = link.crt\n' >>ca/ca.conf

# ---- a bad next CA stops certad at start ----------------------------------------
badstart() {  # badstart FILE WORDS
  cp ca/ca.conf.orig ca/ca.conf
  printf '\n[ca]\nnext_ca_cert = %s\n' "$1" >>ca/ca.conf
  rc=0; timeout 20 "$CERTAD" --dir ca --listen "127.0.0.1:$P" >bad.log 2>&1 || rc=$?
  [ "$rc" != 0 ] && [ "$rc" != 124 ] || fail "certad started with next_ca_cert = $1 (rc $rc)"
  grep -q "$2" bad.log || { cat bad.log >&2; fail "certad's error for next_ca_cert = $1 lacks '$2'"; }
}
badstart ca.crt "current CA"
badstart nosuch.crt "nosuch.crt"
"$CERTA" ca init --dir sub --subject "CN=CMP Roll Sub" --parent ca >/dev/null
cp sub/ca.crt ca/sub.crt
badstart sub.crt "not self-signed"
echo garbage >ca/garbage.crt
badstart garbage.crt "not a certificate"
ok "a bad [ca] next_ca_cert stops certad with a clear error"

# ---- with a rollover CA ---------------------------------------------------------
cp ca/ca.conf.orig ca/ca.conf
printf '\n[ca]\nnext_ca_cert = next-ca.crt\nnext_ca_cross_cert = link.crt\n' >>ca/ca.conf
start_certad ca "$P"
secret() { "$CERTA" ca cmp-secret create --dir ca >sec.txt; REF=$(sed -n 's/^reference=//p' sec.txt); SEC=$(sed -n 's/^secret=//p' sec.txt); }
secret
"$CERTA" --state "$STATE" trustpoint add r1 --protocol cmp --url "$URL/cmp" --cmp-ref "$REF" --cmp-secret "$SEC" \
  >/dev/null
"$CERTA" --state "$STATE" ca authenticate r1 --yes >/dev/null || fail "ca authenticate over CMP"
cp "$STATE/trustpoints/r1/ca.pem" ca-before.pem
before=$(counts ca)
"$CERTA" --state "$STATE" ca rollover r1 >roll.out 2>roll.err || { cat roll.err >&2; fail "certa ca rollover"; }
[ -f "$STATE/trustpoints/r1/next-ca.pem" ] || fail "next-ca.pem not stored"
[ "$(fp "$STATE/trustpoints/r1/next-ca.pem")" = "$(fp next/ca.crt)" ] || fail "next-ca.pem is not the rollover CA"
cmp -s ca-before.pem "$STATE/trustpoints/r1/ca.pem" || fail "ca rollover replaced ca.pem"
grep -q "CN=CMP Roll CA G2" roll.out || fail "the new CA's subject is not shown"
grep -q "Validity End" roll.out || fail "the new CA's validity is not shown"
grep -qi "$(fp next/ca.crt | sed 's/.*=//')" roll.out || fail "the new CA's fingerprint is not shown"
grep -q "newWithOld" roll.out || fail "the link certificate is not reported"
[ "$before" = "$(counts ca)" ] || fail "the CA's store changed on a root CA update"
grep -q "root CA update sent" ca.certad.log || fail "certad did not log the root CA update"
ok "certa ca rollover stores next-ca.pem identical to the rollover CA (with newWithOld), ca.pem unchanged"

# Once enrolled (the one-time secret spent), the genm is signed with the
# trustpoint's certificate.
"$CERTA" --state "$STATE" enroll r1 >/dev/null 2>&1 || fail "certa enroll r1"
rm "$STATE/trustpoints/r1/next-ca.pem"
"$CERTA" --state "$STATE" ca rollover r1 >roll2.out 2>roll2.err || { cat roll2.err >&2; fail "ca rollover after enroll"; }
[ "$(fp "$STATE/trustpoints/r1/next-ca.pem")" = "$(fp next/ca.crt)" ] || fail "next-ca.pem after enroll"
grep -q 'cmp genm txid=[0-9a-f]* cert:[0-9a-f]* root CA update sent' ca.certad.log ||
  fail "the genm after enrollment was not signed with the device certificate"
ok "after enrollment the root CA update genm is signed with the device certificate"

# OpenSSL's own client asks with id-it-rootCaKeyUpdate (no value).
secret
openssl cmp -cmd genm -server "127.0.0.1:$P/cmp" -ref "$REF" -secret "pass:$SEC" -recipient "/CN=CMP Roll CA" \
  -infotype rootCaKeyUpdate >genm.log 2>&1 || { cat genm.log >&2; fail "openssl cmp genm rootCaKeyUpdate"; }
grep -q "rootCaKeyUpdate" genm.log || { cat genm.log >&2; fail "openssl cmp: genp without rootCaKeyUpdate"; }
ok "openssl cmp -cmd genm -infotype rootCaKeyUpdate is answered"

# SCEP serves the same [ca] setting.
curl -s "$URL/scep?operation=GetCACaps" | grep -qx GetNextCACert || fail "GetNextCACert not advertised with [ca] next_ca_cert"
curl -s -o next.p7 "$URL/scep?operation=GetNextCACert"
openssl smime -verify -inform der -in next.p7 -noverify -out inner.p7 2>/dev/null || fail "GetNextCACert is not signed"
openssl pkcs7 -inform der -in inner.p7 -print_certs | openssl x509 >next-got.pem
[ "$(fp next-got.pem)" = "$(fp next/ca.crt)" ] || fail "GetNextCACert does not carry [ca] next_ca_cert"
ok "SCEP GetNextCACert serves [ca] next_ca_cert"
stop_certad

# ---- the SCEP override: [scep] next_ca_cert wins for SCEP ---------------------------
"$CERTA" ca init --dir other --subject "CN=SCEP Only Next" >/dev/null
cp other/ca.crt ca/scep-next.crt
printf '\n[scep]\nnext_ca_cert = scep-next.crt\n' >>ca/ca.conf
start_certad ca "$P"
curl -s -o next.p7 "$URL/scep?operation=GetNextCACert"
openssl smime -verify -inform der -in next.p7 -noverify -out inner.p7 2>/dev/null || fail "GetNextCACert (override) not signed"
openssl pkcs7 -inform der -in inner.p7 -print_certs | openssl x509 >next-got.pem
[ "$(fp next-got.pem)" = "$(fp other/ca.crt)" ] || fail "[scep] next_ca_cert does not override [ca] next_ca_cert"
rm -f "$STATE/trustpoints/r1/next-ca.pem"
"$CERTA" --state "$STATE" ca rollover r1 >/dev/null || fail "ca rollover with a SCEP override"
[ "$(fp "$STATE/trustpoints/r1/next-ca.pem")" = "$(fp next/ca.crt)" ] || fail "CMP did not keep serving [ca] next_ca_cert"
ok "[scep] next_ca_cert overrides for SCEP only"
stop_certad

# ---- without a rollover CA --------------------------------------------------------
cp ca/ca.conf.orig ca/ca.conf
start_certad ca "$P"
rm -f "$STATE/trustpoints/r1/next-ca.pem"
"$CERTA" --state "$STATE" ca rollover r1 >none.out 2>none.err || { cat none.err >&2; fail "ca rollover without an update"; }
grep -q "No root CA update available" none.out || fail "no update not reported"
[ ! -e "$STATE/trustpoints/r1/next-ca.pem" ] || fail "next-ca.pem stored without an update"
ls "$STATE/trustpoints/r1" | grep -q next && fail "something next-ish stored without an update"
cmp -s ca-before.pem "$STATE/trustpoints/r1/ca.pem" || fail "ca.pem changed"
grep -q "root CA update none available" ca.certad.log || fail "certad did not log the absent update"
curl -s "$URL/scep?operation=GetCACaps" | grep -qx GetNextCACert && fail "GetNextCACert advertised without a next CA"
ok "without a rollover CA: nothing stored, exit 0"

# A SCEP trustpoint cannot ask for a root CA update.
"$CERTA" --state "$STATE" trustpoint add s1 --protocol scep --url "$URL/scep" >/dev/null
expect_fail ca "cmp" --state "$STATE" ca rollover s1
ok "ca rollover refuses a non-CMP trustpoint"
