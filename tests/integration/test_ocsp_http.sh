# certad's OCSP responder checked by `openssl ocsp` over HTTP: good, unknown,
# revoked after `certa ca revoke` in another process, the RFC 5019 GET form
# with its cache headers and 304, a malformed request, a request for another
# issuer, and a delegated OCSP signer verified by openssl. Refused requests
# store nothing.
source "$(dirname "$0")/ca_common.sh"
source "$(dirname "$0")/certad_common.sh"
source "$(dirname "$0")/publish_common.sh"

new_ca ca "CN=OCSP Test CA,O=Example"
new_ca other "CN=OCSP Test CA,O=Example"     # same name, another key
issue ca d1
issue ca d2
issue other x1
serve_ca ca

# ask CERT [more openssl ocsp args]: the status line for CERT.
ask() {
  local cert=$1; shift
  openssl ocsp -issuer ca/ca.crt -cert "$cert" -url "$BASE/ocsp" -CAfile ca/ca.crt "$@" \
    >"$T/ocsp.out" 2>&1 || true
  cat "$T/ocsp.out"
}
out=$(ask d1.crt)
grep -q "^d1.crt: good" <<<"$out" || fail "d1 not good: $out"
grep -q "Response verify OK" <<<"$out" || fail "response not verified: $out"
ok "good, verified by openssl ocsp (nonce echoed)"
grep -qi "nonce" <<<"$out" && fail "openssl complained about the nonce: $out"

out=$(openssl ocsp -issuer ca/ca.crt -serial 0x5eed5eed5eed -url "$BASE/ocsp" -CAfile ca/ca.crt 2>&1 || true)
grep -q "0x5eed5eed5eed: unknown" <<<"$out" || fail "never-issued serial not unknown: $out"
ok "never-issued serial: unknown"

# Revoked by another process; certad notices within a tick or two.
out=$(ask d2.crt -no_nonce)
grep -q "^d2.crt: good" <<<"$out" || fail "d2 not good first: $out"
"$CERTA" ca revoke --dir ca --serial "$(serial_of d2.crt)" --reason keyCompromise >/dev/null
for _ in $(seq 1 30); do
  out=$(ask d2.crt -no_nonce)
  grep -q "^d2.crt: revoked" <<<"$out" && break
  sleep 0.2
done
grep -q "^d2.crt: revoked" <<<"$out" || fail "d2 not revoked after certa ca revoke: $out"
grep -q "Reason: keyCompromise" <<<"$out" || fail "no revocation reason: $out"
grep -q "Revocation Time" <<<"$out" || fail "no revocation time: $out"
grep -q "Response verify OK" <<<"$out" || fail "revoked response not verified: $out"
ok "revoked (reason and time) after certa ca revoke in another process"

# RFC 5019 GET: base64 of the DER request in the path.
openssl ocsp -issuer ca/ca.crt -cert d1.crt -no_nonce -reqout req.der >/dev/null 2>&1
b64=$(base64 -w0 req.der | sed 's|+|%2B|g; s|/|%2F|g; s|=|%3D|g')
curl -fsS -D get.hdr -o get.der "$BASE/ocsp/$b64" || fail "GET failed"
openssl ocsp -respin get.der -issuer ca/ca.crt -cert d1.crt -CAfile ca/ca.crt >"$T/get.out" 2>&1 ||
  { cat "$T/get.out"; fail "GET response rejected"; }
grep -q "^d1.crt: good" "$T/get.out" || fail "GET: not good"
grep -qi '^content-type: application/ocsp-response' get.hdr || fail "GET: content type"
grep -qi '^cache-control:.*max-age=[0-9]*.*public.*no-transform.*must-revalidate' get.hdr ||
  { cat get.hdr; fail "GET: Cache-Control"; }
for h in etag last-modified expires; do
  grep -qi "^$h:" get.hdr || { cat get.hdr; fail "GET: no $h"; }
done
etag=$(grep -i '^etag:' get.hdr | cut -d' ' -f2- | tr -d '\r')
code=$(curl -sS -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$BASE/ocsp/$b64")
[ "$code" = 304 ] || fail "If-None-Match: got $code, not 304"
# Unescaped base64 (with '/' and '+') is accepted as well.
curl -fsS -o get2.der "$BASE/ocsp/$(base64 -w0 req.der)" || fail "raw base64 GET failed"
cmp -s get.der get2.der || fail "raw base64 GET gave another answer"
# The pre-signed response is shared with POST for the same CertID.
curl -fsS -o post.der -H 'Content-Type: application/ocsp-request' --data-binary @req.der "$BASE/ocsp"
cmp -s get.der post.der || fail "POST without nonce did not get the cached response"
ok "GET form: good, Cache-Control/ETag/Last-Modified/Expires, 304 on If-None-Match"

# Malformed requests: malformedRequest (HTTP 200), nothing stored.
resp_text() { openssl ocsp -respin "$1" -resp_text -noverify 2>&1 || true; }
before=$(store_state ca)
printf 'garbage' >bad.der
head -c 20 req.der >trunc.der
for f in bad.der trunc.der; do
  code=$(curl -sS -o resp.der -w '%{http_code}' -H 'Content-Type: application/ocsp-request' \
    --data-binary @$f "$BASE/ocsp")
  [ "$code" = 200 ] || fail "$f: HTTP $code"
  resp_text resp.der | grep -qi "malformedrequest" || fail "$f: not malformedRequest"
done
code=$(curl -sS -o resp.der -w '%{http_code}' "$BASE/ocsp/not-base64!!")
resp_text resp.der | grep -qi "malformedrequest" || fail "bad GET: not malformedRequest"
ok "malformed and truncated requests: malformedRequest"

# Another issuer (same name, another key): unauthorized.
out=$(openssl ocsp -issuer other/ca.crt -cert x1.crt -url "$BASE/ocsp" -CAfile other/ca.crt 2>&1 || true)
grep -qi "unauthorized" <<<"$out" || fail "another issuer's request: $out"
after=$(store_state ca)
[ "$before" = "$after" ] || fail "refused requests changed the store ($before -> $after)"
ok "another issuer: unauthorized; nothing stored"
# One log line each, in protocol terms.
log_wait_count "$T/certad.log" 'path=/ocsp.*status=200.*detail="ocsp malformedRequest' 3 ||
  { cat "$T/certad.log"; fail "not one malformedRequest log line per malformed request"; }
log_wait_count "$T/certad.log" 'detail="ocsp unauthorized (CertID of another issuer)' 1 ||
  fail "not one log line for the other issuer's request"

# Delegated signer: issued by the CLI, used after a restart, verified by openssl.
"$CERTA" ca ocsp-signer --dir ca --days 30 2>/dev/null
[ "$(stat -c %a ca/ocsp.key)" = 600 ] || fail "ocsp.key is not 0600"
openssl x509 -in ca/ocsp.crt -noout -text | grep -q "OCSP No Check" || fail "signer lacks ocsp-nocheck"
openssl x509 -in ca/ocsp.crt -noout -text | grep -q "OCSP Signing" || fail "signer lacks OCSPSigning"
stop_certad
serve_ca ca
out=$(ask d1.crt -resp_text)
grep -q "^d1.crt: good" <<<"$out" || fail "delegated: d1 not good: $out"
grep -q "Response verify OK" <<<"$out" || fail "delegated response not verified: $out"
grep -Eq "Subject: ?CN ?= ?ca OCSP signer" <<<"$out" || fail "signer certificate not in the response: $out"
out=$(ask d2.crt)
grep -q "^d2.crt: revoked" <<<"$out" || fail "delegated: d2 not revoked: $out"
ok "delegated signer: responses verified by openssl, signer certificate included"
