# certa ca ocsp-signer: a delegated OCSP signer issued through the pipeline
# (checked with openssl: OCSPSigning, ocsp-nocheck, issued by the CA, key
# 0600 and matching), its profile added to ca.conf once, a request for that
# profile through the ordinary door waiting for approval, and bad options
# refused with one line and nothing stored.
source "$(dirname "$0")/ca_common.sh"

"$CERTA" ca init --dir ca --subject "CN=Signer CA" >/dev/null
grep -q "profile ocsp-signer" ca/ca.conf && fail "a new CA already has the signer profile"
"$CERTA" ca ocsp-signer --dir ca --days 20 --out signer.pem 2>err.txt || { cat err.txt; fail "ocsp-signer"; }
grep -q "added \[profile ocsp-signer\]" err.txt || fail "no note about the added profile"
[ "$(grep -c '^\[profile ocsp-signer\]' ca/ca.conf)" = 1 ] || fail "profile not added once"
cmp -s signer.pem ca/ocsp.crt || fail "--out differs from ca/ocsp.crt"
[ "$(stat -c %a ca/ocsp.key)" = 600 ] || fail "ocsp.key mode $(stat -c %a ca/ocsp.key)"
openssl verify -CAfile ca/ca.crt -purpose ocsphelper ca/ocsp.crt >/dev/null || fail "not a valid OCSP signer"
text=$(openssl x509 -in ca/ocsp.crt -noout -text)
grep -q "OCSP Signing" <<<"$text" || fail "no OCSPSigning"
grep -q "OCSP No Check" <<<"$text" || fail "no ocsp-nocheck"
grep -A1 "Key Usage: critical" <<<"$text" | grep -q "Digital Signature" || fail "key usage"
grep -q "CA:FALSE" <<<"$text" || fail "not CA:FALSE"
[ "$(openssl x509 -in ca/ocsp.crt -noout -pubkey)" = "$(openssl pkey -in ca/ocsp.key -pubout)" ] ||
  fail "ocsp.key does not match ocsp.crt"
end=$(date -d "$(openssl x509 -in ca/ocsp.crt -noout -enddate | cut -d= -f2)" +%s)
[ $((end - $(date +%s))) -le $((20 * 86400 + 600)) ] || fail "validity longer than --days 20"
serial=$(openssl x509 -in ca/ocsp.crt -noout -serial | cut -d= -f2 | tr A-F a-f | sed 's/^0*//')
[ "$(sqlite3 ca/ca.db "SELECT profile FROM certificates WHERE serial='$serial'")" = ocsp-signer ] ||
  fail "the signer is not recorded under its profile"
ok "signer issued and recorded: OCSPSigning, ocsp-nocheck, key 0600"

# Again (renewal): replaces the files, no second profile section.
"$CERTA" ca ocsp-signer --dir ca --key rsa:2048 2>/dev/null
[ "$(grep -c '^\[profile ocsp-signer\]' ca/ca.conf)" = 1 ] || fail "profile added twice"
openssl x509 -in ca/ocsp.crt -noout -text | grep -q "rsaEncryption" || fail "--key rsa:2048 not used"
ok "re-issued with an RSA key"

# A CSR for that profile through the ordinary front door waits for an operator.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout x.key \
  -subj "/CN=sneaky" -out x.csr 2>/dev/null
rc=0
"$CERTA" ca issue --dir ca --csr x.csr --profile ocsp-signer --out x.crt >/dev/null 2>&1 || rc=$?
[ "$rc" = 5 ] || fail "a CSR for the ocsp-signer profile was not left pending (exit $rc)"
ok "the ocsp-signer profile needs manual approval for anything but the command"

# Bad options: refused, one line, nothing stored.
"$CERTA" ca init --dir fresh --subject "CN=Fresh CA" >/dev/null
conf=$(sha256sum <fresh/ca.conf)
expect_fail fresh "dsa" ca ocsp-signer --dir fresh --key dsa:1024
[ "$(sha256sum <fresh/ca.conf)" = "$conf" ] || fail "a refused --key changed ca.conf"
[ ! -e fresh/ocsp.key ] && [ ! -e fresh/ocsp.crt ] || fail "a refused --key left files"
usage_fail() { # usage_fail WANT args...: exit 2, the message, the store unchanged
  local want=$1 rc=0 before; shift
  before=$(counts ca)
  "$CERTA" "$@" >/dev/null 2>err.txt || rc=$?
  [ "$rc" = 2 ] || fail "certa $*: exit $rc, not 2"
  head -1 err.txt | grep -q -- "$want" || { cat err.txt; fail "certa $*: message"; }
  [ "$(counts ca)" = "$before" ] || fail "certa $*: store changed"
}
usage_fail "days" ca ocsp-signer --dir ca --days 0
usage_fail "--dir is required" ca ocsp-signer --days 5
expect_fail ca "not a CA directory" ca ocsp-signer --dir nowhere
ok "bad options refused with one line, store unchanged"
