# certa ca issue: certificates built from the profile, checked with openssl;
# the issue's test (a CSR asking for CA:TRUE, keyCertSign and an unlisted
# SAN); and every bad input: each fails with one clear line, a non-zero exit
# and the store's row counts unchanged.
source "$(dirname "$0")/ca_common.sh"

"$CERTA" ca init --dir ca --subject "CN=Issue CA,O=Example" >/dev/null
newreq() { # newreq NAME KEYOPTS SUBJ [openssl req args...]
  local name=$1 subj=$3; read -r -a kopt <<<"$2"; shift 3
  openssl req -new "${kopt[@]}" -nodes -keyout "$name.key" -subj "$subj" "$@" -out "$name.csr" 2>/dev/null
}
P256="-newkey ec -pkeyopt ec_paramgen_curve:P-256"

# A plain request from openssl req, RSA and EC.
newreq rsa "-newkey rsa:2048" "/CN=router1/O=Example" -addext "subjectAltName=DNS:router1.example.com,IP:192.0.2.1"
"$CERTA" ca issue --dir ca --csr rsa.csr --out rsa.crt >/dev/null
openssl verify -CAfile ca/ca.crt rsa.crt >/dev/null || fail "rsa leaf does not verify"
text=$(openssl x509 -in rsa.crt -noout -text)
grep -q "CA:FALSE" <<<"$text" || fail "leaf lacks CA:FALSE"
grep -q "Digital Signature, Key Encipherment" <<<"$text" || fail "rsa leaf key usage"
grep -q "DNS:router1.example.com, IP Address:192.0.2.1" <<<"$text" || fail "SANs not copied"
grep -q "ipsec Internet Key Exchange" <<<"$text" || fail "default EKU set"
grep -q "URI:http://127.0.0.1:8080/crl/ca.crl" <<<"$text" || fail "CDP"
grep -q "OCSP - URI:http://127.0.0.1:8080/ocsp" <<<"$text" || fail "AIA OCSP"
openssl x509 -in rsa.crt -noout -checkend $((366 * 86400)) >/dev/null && fail "validity longer than the profile's 365 days"
serial=$(openssl x509 -in rsa.crt -noout -serial | cut -d= -f2)
[ ${#serial} -ge 30 ] || fail "serial $serial is not ~128 bits"
show=$("$CERTA" ca show --dir ca --serial "$serial")
grep -q "Status:     valid" <<<"$show" || fail "ca show"
grep -q "Subject: CN = router1, O = Example" <<<"$show" || fail "ca show text"
"$CERTA" ca list --dir ca --json | python3 -c 'import json,sys; a=json.load(sys.stdin); assert len(a)==1 and a[0]["status"]=="valid" and a[0]["profile"]=="default", a'
ok "issue from an openssl RSA CSR"

newreq ec "$P256" "/CN=router2" -addext "extendedKeyUsage=serverAuth"
"$CERTA" ca issue --dir ca --csr ec.csr >ec.crt
openssl verify -CAfile ca/ca.crt ec.crt >/dev/null || fail "ec leaf does not verify"
text=$(openssl x509 -in ec.crt -noout -text)
grep -A1 "Extended Key Usage" <<<"$text" | tail -1 | grep -qx " *TLS Web Server Authentication" || fail "EKU not narrowed to the request"
grep -q "Key Encipherment" <<<"$text" && fail "EC leaf got keyEncipherment"
ok "issue from an openssl EC CSR, EKU narrowed"

# The issue's test. Rule: an unlisted SAN refuses the request (exit 4,
# nothing stored); CA:TRUE and keyCertSign are never granted (silently).
newreq evil "$P256" "/CN=evil" -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" -addext "subjectAltName=email:evil@example.com"
expect_fail ca "SAN email:evil@example.com is not allowed" ca issue --dir ca --csr evil.csr --profile ipsec
[ "$LAST_RC" = 4 ] || fail "refusal exit code $LAST_RC"
[ ! -s out ] || fail "a refused request printed a certificate"
newreq evil2 "$P256" "/CN=evil2" -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" -addext "subjectAltName=DNS:evil2.example.com"
"$CERTA" ca issue --dir ca --csr evil2.csr --profile ipsec --out evil2.crt >/dev/null
text=$(openssl x509 -in evil2.crt -noout -text)
grep -q "CA:FALSE" <<<"$text" || fail "CA:TRUE request: certificate lacks CA:FALSE"
grep -q "CA:TRUE" <<<"$text" && fail "CA:TRUE granted"
grep -q "Certificate Sign" <<<"$text" && fail "keyCertSign granted"
grep -q "CRL Sign" <<<"$text" && fail "cRLSign granted"
grep -q "email:" <<<"$text" && fail "unlisted SAN present"
openssl verify -CAfile ca/ca.crt -purpose sslserver evil2.crt >/dev/null 2>&1 && fail "ipsec profile cert usable as TLS server"
# openssl refuses to use it as a CA: a leaf signed by it does not verify.
openssl x509 -req -in rsa.csr -CA evil2.crt -CAkey evil2.key -CAcreateserial -out fake.crt 2>/dev/null
openssl verify -CAfile ca/ca.crt -untrusted evil2.crt fake.crt >/dev/null 2>&1 && fail "CA:TRUE request produced a working CA"
ok "CSR asking for CA:TRUE + keyCertSign + unlisted SAN: refused; without the SAN: none granted"

# Legacy digests only where the profile says legacy = yes.
"$CERTA" ca issue --dir ca --csr rsa.csr --profile legacy --out legacy.crt >/dev/null
openssl x509 -in legacy.crt -noout -text | grep -q "ecdsa-with-SHA1" || fail "legacy profile digest"
ok "legacy profile signs with SHA-1"

# ---- bad input -----------------------------------------------------------
head -c 300 /dev/urandom >garbage.csr
expect_fail ca "garbage.csr" ca issue --dir ca --csr garbage.csr
openssl req -in ec.csr -outform DER -out ec.der
head -c 100 ec.der >trunc.csr
expect_fail ca "trunc.csr" ca issue --dir ca --csr trunc.csr
python3 - <<'PY'
d = bytearray(open("ec.der", "rb").read()); d[-3] ^= 0x55; open("badsig.csr", "wb").write(d)
PY
expect_fail ca "signature" ca issue --dir ca --csr badsig.csr
ok "malformed, truncated and badly signed CSRs refused"

newreq weak "-newkey rsa:1024" "/CN=weak"
expect_fail ca "rsa:1024 is not allowed" ca issue --dir ca --csr weak.csr
[ "$LAST_RC" = 4 ] || fail "rsa:1024 exit code $LAST_RC"
for curve in prime192v1 brainpoolP256r1; do
  newreq "c-$curve" "-newkey ec -pkeyopt ec_paramgen_curve:$curve" "/CN=curve"
  expect_fail ca "$curve" ca issue --dir ca --csr "c-$curve.csr"
done
ok "RSA-1024 and unknown curves refused"

newreq badattr "$P256" "/CN=x/title=boss"
expect_fail ca "subject attribute title is not allowed" ca issue --dir ca --csr badattr.csr
newreq badcn "$P256" "/CN=www.example.org"
expect_fail ca "does not match profile 'tls-server'" ca issue --dir ca --csr badcn.csr --profile tls-server
newreq badsan "$P256" "/CN=www.example.net" -addext "subjectAltName=DNS:www.evil.org"
expect_fail ca "SAN dns:www.evil.org does not match" ca issue --dir ca --csr badsan.csr --profile tls-server
newreq goodsan "$P256" "/CN=www.example.net" -addext "subjectAltName=DNS:www.example.net"
"$CERTA" ca issue --dir ca --csr goodsan.csr --profile tls-server >/dev/null || fail "tls-server profile"
newreq othername "$P256" "/CN=o" -addext "subjectAltName=otherName:1.2.3.4;UTF8:x"
expect_fail ca "SAN of type otherName" ca issue --dir ca --csr othername.csr
ok "forbidden subjects and SANs refused"

expect_fail ca "no profile 'nosuch'" ca issue --dir ca --csr ec.csr --profile nosuch
[ "$LAST_RC" = 3 ] || fail "unknown profile exit code $LAST_RC"
ok "unknown profile refused"

echo secret >pass; echo wrong >wrongpass
"$CERTA" ca init --dir enc --subject "CN=Enc" --passphrase-file pass >/dev/null
expect_fail enc "passphrase" ca issue --dir enc --csr ec.csr --passphrase-file wrongpass
CERTA_CA_PASSPHRASE=wrong expect_fail enc "passphrase" ca issue --dir enc --csr ec.csr
expect_fail enc "passphrase" ca issue --dir enc --csr ec.csr
ok "wrong or missing CA key passphrase refused"

cp -a ca broken
head -c 4096 /dev/urandom >broken/ca.db
sum=$(sha256sum broken/ca.db)
rc=0; "$CERTA" ca issue --dir broken --csr ec.csr >out 2>err || rc=$?
[ $rc -ne 0 ] && [ "$(wc -l <err)" -eq 1 ] && [ ! -s out ] || fail "corrupt database accepted"
[ "$(sha256sum broken/ca.db)" = "$sum" ] || fail "corrupt database modified"
rm broken/ca.db broken/ca.db-* 2>/dev/null || true
rc=0; "$CERTA" ca issue --dir broken --csr ec.csr >out 2>err || rc=$?
[ $rc -ne 0 ] && [ "$(wc -l <err)" -eq 1 ] && grep -q "database" err || { cat err; fail "missing database accepted"; }
[ ! -e broken/ca.db ] || fail "missing database was recreated"
ok "corrupt and missing database refused"
echo "all ca issue tests passed"
