#!/usr/bin/env bash
# Bad input to certad's SCEP endpoints over HTTP (curl): garbage, truncated
# and empty PKCS#7 by POST and GET, base64 that is not, unknown and missing
# operations, GetNextCACert without a rollover CA. Each gets a 4xx (never a
# 500), one log line naming it, and stores nothing. Also: the caps list,
# GetCACert's two forms, /cgi-bin/pkiclient.exe, GetNextCACert with a
# configured rollover certificate, and the challenge CLI's refusals.
source "$(dirname "$0")/scep_common.sh"

new_ca rsa rsa:2048
P=$(free_port)
start_certad rsa "$P"
URL="http://127.0.0.1:$P/scep"

# expect_http CODE DETAIL CURL_ARGS...: the HTTP status, a log line with
# DETAIL for it, and the store unchanged.
expect_http() {
  local want=$1 detail=$2 before after code lines
  shift 2
  before=$(counts rsa)
  lines=$(wc -l <rsa.certad.log)
  code=$(curl -s -o "$T/body" -w '%{http_code}' "$@")
  after=$(counts rsa)
  [ "$code" = "$want" ] || { cat "$T/body"; fail "curl $*: HTTP $code, want $want"; }
  [ "$before" = "$after" ] || fail "curl $*: store changed ($before -> $after)"
  for _ in $(seq 1 20); do [ "$(wc -l <rsa.certad.log)" -gt "$lines" ] && break; sleep 0.05; done
  [ "$(tail -n +"$((lines + 1))" rsa.certad.log | wc -l)" -eq 1 ] || { tail -3 rsa.certad.log; fail "curl $*: not one log line"; }
  tail -1 rsa.certad.log | grep -q -- "$detail" || { tail -1 rsa.certad.log; fail "curl $*: log lacks '$detail'"; }
}

# Binary garbage that starts like DER, and garbage that does not (taken as
# the base64 some clients post).
{ printf '\x30\x82\x0b\xb8'; head -c 3000 /dev/urandom; } >garbage.bin
expect_http 400 "not a PKCS#7 message" --data-binary @garbage.bin -H 'Content-Type: application/x-pki-message' \
  "$URL?operation=PKIOperation"
printf 'hello, world: not SCEP at all\n' >text.bin
expect_http 400 "message is not base64" --data-binary @text.bin "$URL?operation=PKIOperation"
expect_http 400 "message empty" --data-binary '' "$URL?operation=PKIOperation"
# A real SignedData (the CA certificate as certs-only PKCS#7) cut short.
openssl crl2pkcs7 -nocrl -certfile rsa/ca.crt -outform DER -out p7.der
head -c 200 p7.der >trunc.der
expect_http 400 "not a PKCS#7 message" --data-binary @trunc.der "$URL?operation=PKIOperation"
# Whole, but without a signer: not a pkiMessage.
expect_http 400 "SignedData without exactly one signer" --data-binary @p7.der "$URL?operation=PKIOperation"
b64=$(base64 -w0 <trunc.der | sed 's/+/%2B/g; s/\//%2F/g; s/=/%3D/g')
expect_http 400 "not a PKCS#7 message" "$URL?operation=PKIOperation&message=$b64"
expect_http 400 "not base64" "$URL?operation=PKIOperation&message=%21%21%21%21"
expect_http 400 "PKIOperation without message" "$URL?operation=PKIOperation"
expect_http 400 "unknown operation" "$URL?operation=GetCRLPlease"
expect_http 400 "no operation" "$URL"
expect_http 404 "GetNextCACert: none configured" "$URL?operation=GetNextCACert"
expect_http 405 "method PUT not allowed" -X PUT --data-binary @garbage.bin "$URL?operation=PKIOperation"
ok "garbage, truncated, empty and unsigned PKCS#7, bad base64, unknown operations: 4xx, one log line, nothing stored"

# Capabilities, without SHA-1 and DES3 unless legacy.
curl -s "$URL?operation=GetCACaps" >caps.txt
for c in POSTPKIOperation SHA-256 SHA-512 AES SCEPStandard Renewal; do
  grep -qx "$c" caps.txt || fail "GetCACaps lacks $c"
done
grep -qx SHA-1 caps.txt && fail "SHA-1 advertised without legacy"
grep -qx DES3 caps.txt && fail "DES3 advertised without legacy"
# GetCACert: the CA alone as DER, at both paths.
for path in /scep /cgi-bin/pkiclient.exe; do
  curl -s -D hdr.txt -o cacert.der "http://127.0.0.1:$P$path?operation=GetCACert&message=CA"
  grep -qi '^Content-Type: application/x-x509-ca-cert' hdr.txt || fail "$path: GetCACert content type"
  cmp <(openssl x509 -inform der -in cacert.der) <(openssl x509 -in rsa/ca.crt) || fail "$path: GetCACert is not the CA"
done
ok "GetCACaps and GetCACert (DER) at /scep and /cgi-bin/pkiclient.exe"
stop_certad

# An EC CA: GetCACert is a certs-only PKCS#7 with the CA and the RA; a
# rollover certificate is served signed by GetNextCACert; legacy adds SHA-1.
new_ca ec ec:p256
new_ca next ec:p256
cp next/ca.crt ec/next-ca.crt
start_certad ec "$P" "[scep]" "next_ca_cert = next-ca.crt" "legacy = yes"
curl -s -D hdr.txt -o ra.p7 "$URL?operation=GetCACert"
grep -qi '^Content-Type: application/x-x509-ca-ra-cert' hdr.txt || fail "EC CA: GetCACert content type"
openssl pkcs7 -inform der -in ra.p7 -print_certs -out both.pem
[ "$(grep -c 'BEGIN CERTIFICATE' both.pem)" = 2 ] || fail "EC CA: GetCACert does not hold two certificates"
openssl verify -CAfile ec/ca.crt ec/scep-ra.crt >/dev/null || fail "RA certificate does not verify against the CA"
openssl x509 -in ec/scep-ra.crt -noout -ext keyUsage | grep -q "Digital Signature, Key Encipherment" || fail "RA key usage"
openssl x509 -in ec/scep-ra.crt -noout -text | grep -q "rsaEncryption" || fail "RA key is not RSA"
curl -s "$URL?operation=GetCACaps" | grep -qx GetNextCACert || fail "GetNextCACert not advertised"
curl -s "$URL?operation=GetCACaps" | grep -qx SHA-1 || fail "legacy: SHA-1 not advertised"
curl -s "$URL?operation=GetCACaps" | grep -qx DES3 || fail "legacy: DES3 not advertised"
curl -s -D hdr.txt -o next.p7 "$URL?operation=GetNextCACert"
grep -qi '^Content-Type: application/x-x509-next-ca-cert' hdr.txt || fail "GetNextCACert content type"
openssl smime -verify -inform der -in next.p7 -noverify -out inner.p7 2>/dev/null || fail "GetNextCACert is not signed"
openssl pkcs7 -inform der -in inner.p7 -print_certs | openssl x509 >next-got.pem
cmp next-got.pem <(openssl x509 -in next/ca.crt) || fail "GetNextCACert does not carry the rollover certificate"
ok "EC CA: GetCACert with CA and RA, signed GetNextCACert, legacy caps"
ra_serial=$(openssl x509 -in ec/scep-ra.crt -noout -serial)
stop_certad
start_certad ec "$P"
[ "$(openssl x509 -in ec/scep-ra.crt -noout -serial)" = "$ra_serial" ] || fail "the RA certificate was not reused on restart"
[ "$(sqlite3 ec/ca.db "SELECT count(*) FROM certificates WHERE profile='scep-ra'")" = 1 ] || fail "RA certificate rows"
ok "the RA certificate is reused across restarts and recorded once"

# certa ca challenge create: options and refusals.
pw=$("$CERTA" ca challenge create --dir ec --subject 'rtr-*' --uses 3 --ttl 2h 2>err.txt)
[[ "$pw" =~ ^[0-9a-z]{32}$ ]] || fail "challenge password format: $pw"
grep -q "uses=3" err.txt && grep -q "subject=rtr-\*" err.txt || { cat err.txt; fail "challenge summary"; }
ref=${pw:0:8}
row=$(sqlite3 ec/ca.db "SELECT kind, uses_left, subject_pattern, expires_at > strftime('%s','now') + 7000, length(blob) FROM secrets WHERE ref='$ref'")
[ "$row" = "scep-challenge|3|rtr-*|1|53" ] || fail "stored challenge row: $row"
sqlite3 ec/ca.db "SELECT hex(blob) FROM secrets WHERE ref='$ref'" | grep -qi "$(printf %s "$pw" | od -An -tx1 | tr -d ' \n')" && fail "password stored in clear"
for bad in "--uses 0" "--uses x" "--ttl 5y" "--ttl -1"; do
  # shellcheck disable=SC2086
  "$CERTA" ca challenge create --dir ec $bad >/dev/null 2>&1 && fail "challenge create $bad accepted"
done
ok "certa ca challenge create: random password, salted hash only, uses/subject/ttl, bad options refused"
