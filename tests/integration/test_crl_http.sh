# CRL and CA-certificate distribution by certad: CRLs fetched over HTTP with
# curl verify with openssl (signature, verify -crl_check before and after a
# revocation by another process, -crl_download from the certificate's CDP),
# the delta CRL, the CA certificate at the AIA URL, and ETag/If-None-Match
# and If-Modified-Since answered with 304.
source "$(dirname "$0")/ca_common.sh"
source "$(dirname "$0")/certad_common.sh"
source "$(dirname "$0")/publish_common.sh"

new_ca ca "CN=CRL Test CA,O=Example"
issue ca d1
issue ca d2
serve_ca ca
name=$(awk -F' = ' '$1 == "name" {print $2; exit}' ca/ca.conf)
CRL_URL="$BASE/crl/$name.crl"

openssl x509 -in d1.crt -noout -text | grep -q "URI:$CRL_URL" || fail "CDP does not name $CRL_URL"

fetch_crl() { # fetch_crl OUT.pem
  curl -fsS -o "$T/crl.der" "$CRL_URL" || fail "GET $CRL_URL"
  openssl crl -inform DER -in "$T/crl.der" -out "$1" 2>/dev/null || fail "not a DER CRL"
  openssl crl -in "$1" -CAfile ca/ca.crt -verify -noout 2>&1 | grep -q "verify OK" ||
    fail "CRL signature not verified"
}
fetch_crl before.pem
openssl verify -crl_check -CAfile ca/ca.crt -CRLfile before.pem d1.crt >/dev/null 2>&1 ||
  fail "d1 not valid against the first CRL"
ok "full CRL over HTTP: signed by the CA, d1 valid with -crl_check"

# ETag and Last-Modified, 304s.
curl -fsS -D crl.hdr -o /dev/null "$CRL_URL"
grep -qi '^content-type: application/pkix-crl' crl.hdr || fail "CRL content type"
etag=$(grep -i '^etag:' crl.hdr | cut -d' ' -f2- | tr -d '\r')
lm=$(grep -i '^last-modified:' crl.hdr | cut -d' ' -f2- | tr -d '\r')
[ -n "$etag" ] && [ -n "$lm" ] || { cat crl.hdr; fail "no ETag or Last-Modified"; }
code=$(curl -sS -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$CRL_URL")
[ "$code" = 304 ] || fail "If-None-Match: $code, not 304"
code=$(curl -sS -o /dev/null -w '%{http_code}' -H "If-Modified-Since: $lm" "$CRL_URL")
[ "$code" = 304 ] || fail "If-Modified-Since: $code, not 304"
code=$(curl -sS -o /dev/null -w '%{http_code}' -H 'If-None-Match: "other"' "$CRL_URL")
[ "$code" = 200 ] || fail "a stale ETag got $code"
ok "ETag / If-None-Match and Last-Modified / If-Modified-Since: 304"

# Revocation by another process: the next CRL lists it.
"$CERTA" ca revoke --dir ca --serial "$(serial_of d1.crt)" --reason superseded >/dev/null
for _ in $(seq 1 30); do
  code=$(curl -sS -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$CRL_URL")
  [ "$code" = 200 ] && break
  sleep 0.2
done
[ "$code" = 200 ] || fail "the CRL was not regenerated after the revocation"
fetch_crl after.pem
out=$(openssl verify -crl_check -CAfile ca/ca.crt -CRLfile after.pem d1.crt 2>&1 || true)
grep -q "certificate revoked" <<<"$out" || fail "d1 not revoked by the new CRL: $out"
openssl verify -crl_check -CAfile ca/ca.crt -CRLfile after.pem d2.crt >/dev/null 2>&1 ||
  fail "d2 not valid against the new CRL"
ok "after certa ca revoke: the CRL served lists d1 (verify -crl_check), d2 still valid"

# openssl fetching the CRL itself from the certificate's CDP.
out=$(openssl verify -crl_check -crl_download -CAfile ca/ca.crt d1.crt 2>&1 || true)
grep -q "certificate revoked" <<<"$out" || fail "-crl_download: d1 not revoked: $out"
openssl verify -crl_check -crl_download -CAfile ca/ca.crt d2.crt >/dev/null 2>&1 ||
  fail "-crl_download: d2 not valid"
ok "openssl verify -crl_download from the CDP URL"

# Delta CRL.
curl -fsS -o delta.der "$BASE/crl/$name-delta.crl" || fail "GET delta CRL"
openssl crl -inform DER -in delta.der -CAfile ca/ca.crt -verify -noout -text >delta.txt 2>&1
grep -q "verify OK" delta.txt || fail "delta CRL not verified"
grep -q "Delta CRL Indicator" delta.txt || fail "no Delta CRL Indicator"
ok "delta CRL: signed, with a Delta CRL Indicator"

# The CA certificate where the AIA says, as DER.
aia=$(openssl x509 -in d1.crt -noout -text | grep -o 'CA Issuers - URI:[^ ]*' | cut -d: -f2-)
[ "$aia" = "$BASE/ca/$name.crt" ] || fail "AIA caIssuers is '$aia'"
curl -fsS -D crt.hdr -o ca.der "$aia" || fail "GET $aia"
openssl x509 -in ca/ca.crt -outform DER -out ca.ref.der
cmp -s ca.der ca.ref.der || fail "the CA certificate served differs"
grep -qi '^content-type: application/pkix-cert' crt.hdr || fail "certificate content type"
etag=$(grep -i '^etag:' crt.hdr | cut -d' ' -f2- | tr -d '\r')
code=$(curl -sS -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$aia")
[ "$code" = 304 ] || fail "CA certificate If-None-Match: $code"
code=$(curl -sS -o /dev/null -w '%{http_code}' "$BASE/crl/nosuch.crl")
[ "$code" = 404 ] || fail "unknown CRL: $code"
ok "CA certificate at the AIA URL (DER, ETag, 304); unknown name 404"
