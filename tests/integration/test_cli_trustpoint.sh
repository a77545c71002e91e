#!/usr/bin/env bash
# Device side without a network: keystore labels, trustpoints (every field,
# bad ranges refused, `default` undeletable), offline enrollment signed by
# `openssl x509 -req`, import (PEM, DER, PKCS#7; another key's certificate
# refused and nothing changed), and `show certificates` (text and JSON).
set -euo pipefail
CERTA="${CERTA_BIN:?}/certa"
T=$(mktemp -d "${CERTA_TEST_TMP:-/tmp}/tp.XXXXXX" 2>/dev/null || mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T"
export CERTA_STATE="$T/state"
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_fail() {
    local what=$1 pat=$2; shift 2
    if "$@" >out.txt 2>err.txt; then fail "$what: succeeded"; fi
    [ "$(wc -l <err.txt)" -eq 1 ] || { cat err.txt; fail "$what: expected one stderr line"; }
    grep -q -- "$pat" err.txt || { cat err.txt; fail "$what: stderr lacks '$pat'"; }
}
snapshot() { (cd "$CERTA_STATE" && find . -type f -exec sha256sum {} + | sort) >"$1"; }

# --- keystore ------------------------------------------------------------
"$CERTA" key generate --label gp --type rsa:2048
"$CERTA" --state "$CERTA_STATE" key generate --label uk --type ec:p256 --usage-keys
[ "$(stat -c %a "$CERTA_STATE/keys")" = 700 ] || fail "keys dir mode"
for f in "$CERTA_STATE"/keys/*.pem; do
    [ "$(stat -c %a "$f")" = 600 ] || fail "$f mode"
    openssl pkey -noout -in "$f" || fail "openssl cannot read $f"
done
"$CERTA" key show gp >gp.txt
grep -q '^Key label:gp$' gp.txt && grep -q '^Usage    :General purpose$' gp.txt && grep -q '^Size     :2048$' gp.txt \
    || { cat gp.txt; fail "key show label"; }
"$CERTA" key show uk | grep -c '^Key label:uk-' | grep -q 2 || fail "usage keys show both halves"
"$CERTA" key show uk-encr | grep -q '^Usage    :Encryption$' || fail "show one half"
expect_fail "label exists" "already exists" "$CERTA" key generate --label gp --type ec:p256
expect_fail "bad label" "may only contain" "$CERTA" key generate --label 'a/b' --type ec:p256
expect_fail "weak label key" "rsa:1024" "$CERTA" key generate --label weak --type rsa:1024
[ ! -e "$CERTA_STATE/keys/weak.pem" ] || fail "refused label key left a file"
# import: PEM, DER, PKCS#12 (the key openssl sees is the one certa stores)
openssl genpkey -algorithm ed25519 -out ed.pem
"$CERTA" key import --label ed ed.pem
cmp <(openssl pkey -in ed.pem -pubout) <(openssl pkey -in "$CERTA_STATE/keys/ed.pem" -pubout) || fail "imported key differs"
openssl req -x509 -newkey rsa:2048 -nodes -keyout p.key -out p.crt -subj /CN=p12 -days 1 2>/dev/null
openssl pkcs12 -export -inkey p.key -in p.crt -out p.p12 -passout pass:secret
echo secret >pw.txt; echo nope >bad.txt
expect_fail "p12 wrong pass" "wrong passphrase" "$CERTA" key import --label p12 p.p12 --passphrase-file bad.txt
[ ! -e "$CERTA_STATE/keys/p12.pem" ] || fail "failed import left a file"
"$CERTA" key import --label p12 p.p12 --passphrase-file pw.txt
cmp <(openssl pkey -in p.key -pubout) <(openssl pkey -in "$CERTA_STATE/keys/p12.pem" -pubout) || fail "p12 key differs"
"$CERTA" key export --label p12 --out exp.der --der
openssl pkey -inform DER -in exp.der -noout || fail "export DER"
"$CERTA" key zeroize uk
[ ! -e "$CERTA_STATE/keys/uk.sign.pem" ] && [ ! -e "$CERTA_STATE/keys/uk.encr.pem" ] || fail "usage keys not zeroized"
expect_fail "zeroize missing label" "no key file or keystore label 'uk'" "$CERTA" key zeroize uk

# --- trustpoints ---------------------------------------------------------
"$CERTA" trustpoint list | grep -q '^default ' || fail "default trustpoint missing"
expect_fail "delete default" "default trustpoint cannot be deleted" "$CERTA" trustpoint delete default
expect_fail "add default" "already exists" "$CERTA" trustpoint add default --protocol manual
"$CERTA" trustpoint add full --protocol scep --url http://ca.example:8080/scep --ra --key fullkey --usage-keys \
    --key-type rsa:3072 --key-size 3072 --subject "CN=r9.example.com,O=Example" --san dns:r9.example.com \
    --san ip:2001:db8::9 --key-usage ike,ssl-server --digest sha384 --challenge one-time \
    --fingerprint md5:00112233445566778899aabbccddeeff --retry-period 60 --retry-count 100 --source-ip 192.0.2.9 \
    --vrf blue --proxy http://proxy.example:3128 --auto-enroll 80 --regenerate --updated-effective \
    --revocation ocsp,crl --legacy --cmp-ref 4711 --cmp-secret s3 --protocol scep
"$CERTA" trustpoint show full --json >full.json
python3 - full.json <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))
want = {"protocol": "scep", "url": "http://ca.example:8080/scep", "ra": True, "key": "fullkey", "usage-keys": True,
        "key-type": "rsa:3072", "key-size": 3072, "subject": "CN=r9.example.com,O=Example",
        "san": ["dns:r9.example.com", "ip:2001:db8::9"], "key-usage": "ike,ssl-server", "digest": "sha384",
        "fingerprint": "md5:00112233445566778899aabbccddeeff", "retry-period": 60, "retry-count": 100,
        "source-ip": "192.0.2.9", "vrf": "blue", "proxy": "http://proxy.example:3128", "auto-enroll": 80,
        "regenerate": True, "updated-effective": True, "revocation": "ocsp,crl", "legacy": True, "cmp-ref": "4711",
        "challenge": True, "cmp_secret": True}
bad = {k: (o.get(k), v) for k, v in want.items() if o.get(k) != v}
assert not bad, bad
assert "one-time" not in open(sys.argv[1]).read(), "secret leaked into show"
PY
[ "$(stat -c %a "$CERTA_STATE/trustpoints/full/challenge")" = 600 ] || fail "challenge mode"
[ "$(stat -c %a "$CERTA_STATE/trustpoints/full/cmp_secret")" = 600 ] || fail "cmp secret mode"
grep -q one-time "$CERTA_STATE/trustpoints/full/trustpoint.conf" && fail "challenge stored in the config"
"$CERTA" trustpoint set full --retry-period 2 --no-legacy --digest sha256
"$CERTA" trustpoint show full --json | python3 -c 'import json,sys; o=json.load(sys.stdin); assert o["retry-period"]==2 and o["legacy"] is False and o["retry-count"]==100, o'

snapshot before.txt
expect_fail "retry-period 0" "retry-period must be a number from 1 to 60" "$CERTA" trustpoint set full --retry-period 0
expect_fail "retry-period 61" "from 1 to 60" "$CERTA" trustpoint set full --retry-period 61
expect_fail "retry-count 101" "retry-count must be a number from 1 to 100" "$CERTA" trustpoint set full --retry-count 101
expect_fail "auto-enroll 101" "auto-enroll" "$CERTA" trustpoint set full --auto-enroll 101
expect_fail "key-size 1024" "key-size" "$CERTA" trustpoint set full --key-size 1024
expect_fail "protocol" "scep, cmp, est or manual" "$CERTA" trustpoint set full --protocol ftp
expect_fail "url" "must start with http://" "$CERTA" trustpoint set full --url ftp://x
expect_fail "fingerprint length" "sha256 fingerprint must be 64 hex digits" "$CERTA" trustpoint set full --fingerprint sha256:abcd
expect_fail "fingerprint alg" "unknown algorithm" "$CERTA" trustpoint set full --fingerprint sha3:abcd
expect_fail "source ip" "not an IPv4 or IPv6 address" "$CERTA" trustpoint set full --source-ip 300.1.1.1
expect_fail "netns+vrf" "not both" "$CERTA" trustpoint set full --netns red
expect_fail "subject" "unknown subject attribute" "$CERTA" trustpoint set full --subject "CN=a,XX=b"
expect_fail "san" "unknown type" "$CERTA" trustpoint set full --san x400:foo
expect_fail "usage" "unknown key usage" "$CERTA" trustpoint set full --key-usage ike,foo
expect_fail "legacy digest" "legacy" "$CERTA" trustpoint set full --digest sha1
expect_fail "revocation" "crl, ocsp" "$CERTA" trustpoint set full --revocation sometimes
expect_fail "scep without url" "needs an enrollment URL" "$CERTA" trustpoint add nourl --protocol scep
expect_fail "unknown trustpoint" "no trustpoint named 'ghost'" "$CERTA" trustpoint set ghost --retry-count 3
snapshot after.txt
cmp -s before.txt after.txt || fail "a refused change modified the state"

"$CERTA" trustpoint delete full
[ ! -e "$CERTA_STATE/trustpoints/full" ] || fail "delete left files"
expect_fail "delete twice" "no trustpoint named 'full'" "$CERTA" trustpoint delete full

# --- offline enrollment round trip ----------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
    -subj "/CN=Test Root/O=Example" -days 30 -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
fp=$(openssl x509 -in ca.pem -noout -fingerprint -sha256 | sed 's/.*=//')
"$CERTA" trustpoint add myca --fingerprint "sha256:$fp" --subject "CN=r1.example.com,O=Example" \
    --san dns:r1.example.com --key-usage ike,ssl-client --key r1 --challenge pw-r1
# A CA certificate that does not match the pinned fingerprint is refused.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout evil.key -out evil.pem \
    -subj "/CN=Test Root/O=Example" -days 30 -addext "basicConstraints=critical,CA:TRUE" 2>/dev/null
expect_fail "fingerprint mismatch" "fingerprint" "$CERTA" import myca evil.pem --ca
[ ! -e "$CERTA_STATE/trustpoints/myca/ca.pem" ] || fail "mismatched CA installed"
"$CERTA" import myca ca.pem --ca
"$CERTA" enroll myca --offline --out r1.csr
openssl req -in r1.csr -verify -noout 2>&1 | grep -q 'verify OK' || fail "offline CSR does not verify"
openssl req -in r1.csr -noout -text >r1.txt
grep -q 'Subject: CN = r1.example.com, O = Example' r1.txt || fail "CSR subject"
grep -q 'DNS:r1.example.com' r1.txt && grep -q 'ipsec Internet Key Exchange' r1.txt \
    && grep -q 'challengePassword *:pw-r1' r1.txt || fail "CSR extensions/challenge"
cmp <(openssl req -in r1.csr -noout -pubkey) <(openssl pkey -in "$CERTA_STATE/keys/r1.pem" -pubout) \
    || fail "CSR is not for the generated key r1"
"$CERTA" show certificates myca | grep -q 'Status         :Pending' || fail "pending not shown"
"$CERTA" show certificates --json | python3 -c 'import json,sys; a=json.load(sys.stdin); assert [e["status"] for e in a if e["role"]=="local"]==["Pending"], a'

printf 'extendedKeyUsage=1.3.6.1.5.5.7.3.17,clientAuth\nsubjectAltName=DNS:r1.example.com\ncrlDistributionPoints=URI:http://crl.example/ca.crl\nkeyUsage=critical,digitalSignature\n' >ext.cnf
openssl x509 -req -in r1.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 10 -extfile ext.cnf -out r1.pem 2>/dev/null
# Certificate for another key: refused, nothing changes.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other.key -subj /CN=other -out other.csr 2>/dev/null
openssl x509 -req -in other.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 10 -out other.pem 2>/dev/null
snapshot before.txt
expect_fail "another key" "certificate is for another key" "$CERTA" import myca other.pem
# A certificate for our key from another CA does not chain.
openssl x509 -req -in r1.csr -CA evil.pem -CAkey evil.key -CAcreateserial -days 10 -out r1-evil.pem 2>/dev/null
expect_fail "wrong CA" "does not chain" "$CERTA" import myca r1-evil.pem
head -c 300 r1.pem >trunc.pem
expect_fail "truncated" "malformed or truncated" "$CERTA" import myca trunc.pem
openssl x509 -in r1.pem -outform DER | head -c 200 >trunc.der
expect_fail "truncated DER" "malformed or truncated" "$CERTA" import myca trunc.der
: >empty.pem
expect_fail "empty" "empty" "$CERTA" import myca empty.pem
snapshot after.txt
cmp -s before.txt after.txt || fail "a refused import modified the state"

# PKCS#7 certs-only with the chain, DER.
openssl crl2pkcs7 -nocrl -certfile r1.pem -certfile ca.pem -outform DER -out r1.p7b
"$CERTA" import myca r1.p7b
cmp <(openssl x509 -in r1.pem) <(openssl x509 -in "$CERTA_STATE/trustpoints/myca/cert.pem") || fail "installed cert differs"
openssl verify -CAfile "$CERTA_STATE/trustpoints/myca/ca.pem" "$CERTA_STATE/trustpoints/myca/cert.pem" >/dev/null \
    || fail "installed cert does not verify"
[ ! -e "$CERTA_STATE/trustpoints/myca/request.pem" ] || fail "request not cleared"
# Plain DER works too.
openssl x509 -in r1.pem -outform DER -out r1.der
"$CERTA" import myca r1.der

"$CERTA" show certificates myca >show.txt
serial=$(openssl x509 -in r1.pem -noout -serial | sed 's/serial=//')
grep -q "Serial Number  :$serial" show.txt || { cat show.txt; fail "show serial"; }
grep -q 'Status         :Available' show.txt || fail "show status"
grep -q 'http://crl.example/ca.crl' show.txt || fail "show CDP"
grep -q 'Issued By' show.txt && grep -q 'Validity End' show.txt || fail "show layout"
"$CERTA" show certificates --json >certs.json
python3 - certs.json "$serial" <<'PY'
import json, sys
a = json.load(open(sys.argv[1]))
roles = {e["role"]: e for e in a if e["trustpoint"] == "myca"}
assert set(roles) == {"ca", "local"}, a
l = roles["local"]
assert l["status"] == "Available" and l["serial"] == sys.argv[2], l
assert l["subject"] == "CN=r1.example.com, O=Example" and l["issuer"] == "CN=Test Root, O=Example", l
assert l["not_after"].endswith("Z") and l["crl_distribution_points"] == ["http://crl.example/ca.crl"], l
for k in ("role", "status", "serial", "subject", "issuer", "not_after"):
    assert k in roles["ca"], k
PY

# The same round trip through certa's own CA (`certa ca issue`).
"$CERTA" ca init --dir ca2 --subject "CN=Certa Root,O=Example" >/dev/null
"$CERTA" ca cert --dir ca2 >ca2.pem
"$CERTA" trustpoint add viaca --subject CN=r2.example.com --san dns:r2.example.com --key-usage ike
"$CERTA" import viaca ca2.pem --ca
"$CERTA" enroll viaca --offline --out r2.csr
"$CERTA" ca issue --dir ca2 --csr r2.csr --out r2.pem >/dev/null
"$CERTA" import viaca r2.pem
openssl verify -CAfile ca2.pem "$CERTA_STATE/trustpoints/viaca/cert.pem" >/dev/null || fail "certa-issued cert"
"$CERTA" show certificates viaca --json | python3 -c 'import json,sys; a=json.load(sys.stdin); assert sorted(e["role"]+e["status"] for e in a)==["caAvailable","localAvailable"], a'
# viaca's certificate is not for myca's key, and myca's CA did not issue it.
expect_fail "cert of another trustpoint" "another key" "$CERTA" import myca r2.pem

# Usage keys: one request and one certificate per key pair.
"$CERTA" trustpoint add uk2 --usage-keys --key-type rsa:2048 --subject CN=r3.example.com
"$CERTA" import uk2 ca.pem --ca
"$CERTA" enroll uk2 --offline --out uk-sign.csr
"$CERTA" enroll uk2 --offline --usage encr --out uk-encr.csr
cmp <(openssl req -in uk-sign.csr -noout -pubkey) <(openssl pkey -in "$CERTA_STATE/keys/uk2.sign.pem" -pubout) || fail "sign csr key"
cmp <(openssl req -in uk-encr.csr -noout -pubkey) <(openssl pkey -in "$CERTA_STATE/keys/uk2.encr.pem" -pubout) || fail "encr csr key"
"$CERTA" show certificates uk2 --json | python3 -c 'import json,sys; a=json.load(sys.stdin); assert sorted(e.get("usage","")+e["status"] for e in a if e["role"]=="local")==["EncryptionPending","SignaturePending"], a'
for u in sign encr; do
    openssl x509 -req -in uk-$u.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 5 -out uk-$u.pem 2>/dev/null
    "$CERTA" import uk2 uk-$u.pem
done
"$CERTA" show certificates uk2 --json | python3 -c 'import json,sys; a=json.load(sys.stdin); assert sorted(e.get("usage","")+e["status"] for e in a if e["role"]=="local")==["EncryptionAvailable","SignatureAvailable"], a'
expect_fail "encr of general key" "general-purpose" "$CERTA" enroll myca --offline --usage encr
# Legacy digests only when the trustpoint allows them.
expect_fail "sha1 without legacy" "legacy" "$CERTA" trustpoint add old --digest sha1 --key-type rsa:2048
"$CERTA" trustpoint add old --digest sha1 --legacy --key-type rsa:2048 --subject CN=old
"$CERTA" enroll old --offline | openssl req -noout -text | grep -q sha1WithRSAEncryption || fail "legacy sha1 CSR"

# `default` enrolls too, generating its key on first use.
"$CERTA" enroll default --offline | openssl req -verify -noout 2>&1 | grep -q 'verify OK' || fail "default enroll"
[ -e "$CERTA_STATE/keys/default.pem" ] || fail "default key not generated"
# Online enrollment of a manual trustpoint says what to do.
expect_fail "manual online" "--offline" "$CERTA" enroll myca
echo "ok: keystore, trustpoints, offline enrollment"
