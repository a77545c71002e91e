#!/usr/bin/env bash
# `certa key ...` and `certa csr`: every key and request certa writes is read
# back by the openssl command line; every bad input fails with a non-zero
# exit, one stderr line naming the problem, and leaves no file behind.
set -euo pipefail
CERTA="${CERTA_BIN:?}/certa"
T=$(mktemp -d "${CERTA_TEST_TMP:-/tmp}/keycsr.XXXXXX" 2>/dev/null || mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T"
fail() { echo "FAIL: $*" >&2; exit 1; }

# expect_fail "what" "stderr pattern" cmd...: non-zero exit, exactly one
# stderr line matching the pattern.
expect_fail() {
    local what=$1 pat=$2; shift 2
    if "$@" >out.txt 2>err.txt; then fail "$what: succeeded"; fi
    [ "$(wc -l <err.txt)" -eq 1 ] || { cat err.txt; fail "$what: expected one stderr line"; }
    grep -q -- "$pat" err.txt || { cat err.txt; fail "$what: stderr lacks '$pat'"; }
}

mode() { stat -c %a "$1"; }

# Every key type, PEM and DER, plain and encrypted.
printf 'correct horse\n' >pass.txt
printf 'wrong\n' >wrong.txt
for type in ec:p256 ec:p384 rsa:2048 rsa:3072 ed25519; do
    f=${type/:/-}
    "$CERTA" key generate --type "$type" --out "$f.pem"
    [ "$(mode "$f.pem")" = 600 ] || fail "$f.pem mode $(mode "$f.pem")"
    openssl pkey -noout -in "$f.pem" || fail "openssl cannot read $f.pem"
    head -1 "$f.pem" | grep -q 'BEGIN PRIVATE KEY' || fail "$f.pem is not PKCS#8"
    "$CERTA" key generate --type "$type" --out "$f.der" --der
    [ "$(mode "$f.der")" = 600 ] || fail "$f.der mode"
    openssl pkey -noout -inform DER -in "$f.der" || fail "openssl cannot read $f.der"
    "$CERTA" key generate --type "$type" --out "$f.enc.pem" --passphrase-file pass.txt
    [ "$(mode "$f.enc.pem")" = 600 ] || fail "$f.enc.pem mode"
    head -1 "$f.enc.pem" | grep -q 'BEGIN ENCRYPTED PRIVATE KEY' || fail "$f.enc.pem not encrypted"
    openssl pkey -noout -in "$f.enc.pem" -passin 'pass:correct horse' || fail "openssl cannot decrypt $f.enc.pem"
    openssl pkcs8 -in "$f.enc.pem" -passin 'pass:correct horse' -topk8 -v2 aes-256-cbc -passout pass:x >/dev/null
    openssl asn1parse -in "$f.enc.pem" | grep -q aes-256-cbc || fail "$f.enc.pem not AES-256"
    "$CERTA" key generate --type "$type" --out "$f.enc.der" --der --passphrase-file pass.txt
    openssl pkey -noout -inform DER -in "$f.enc.der" -passin 'pass:correct horse' || fail "openssl cannot decrypt $f.enc.der"
done

# key show: the public key certa prints is the one openssl derives.
"$CERTA" key show ec-p256.pem >show.txt
grep -q '^Type     :EC P-256$' show.txt || fail "key show type"
grep -q '^Size     :256$' show.txt || fail "key show size"
want=$(openssl pkey -in ec-p256.pem -pubout -outform DER | od -An -v -tx1 | tr -d ' \n' | tr a-f A-F)
got=$(sed -n '/^Data/,/^SHA-256/p' show.txt | sed '1d;$d' | tr -d ' \n')
[ "$want" = "$got" ] || fail "key show DER differs from openssl's"
fp=$(openssl pkey -in ec-p256.pem -pubout -outform DER | openssl dgst -sha256 -c | sed 's/.*= //' | tr a-f A-F)
grep -q "^ $fp\$" show.txt || fail "key show fingerprint differs from openssl's"
"$CERTA" key show rsa-2048.enc.der --passphrase-file pass.txt | grep -q '^Size     :2048$' || fail "show encrypted DER"
# A key written by openssl (traditional PEM) loads too.
openssl genrsa -out trad.pem 2048 2>/dev/null
"$CERTA" key show trad.pem | grep -q '^Type     :RSA$' || fail "show openssl-written key"

# Bad keys and passphrases.
expect_fail "rsa 1024" "rsa:1024" "$CERTA" key generate --type rsa:1024 --out weak.pem
expect_fail "unknown curve" "ec:p999" "$CERTA" key generate --type ec:p999 --out curve.pem
expect_fail "unknown type" "dsa:2048" "$CERTA" key generate --type dsa:2048 --out dsa.pem
[ ! -e weak.pem ] && [ ! -e curve.pem ] && [ ! -e dsa.pem ] || fail "a refused key left a file"
expect_fail "wrong passphrase" "wrong passphrase" "$CERTA" key show ec-p256.enc.pem --passphrase-file wrong.txt
expect_fail "missing passphrase" "encrypted" "$CERTA" key show ec-p256.enc.der
expect_fail "wrong passphrase csr" "wrong passphrase" \
    "$CERTA" csr --key rsa-2048.enc.pem --passphrase-file wrong.txt --subject CN=x --out nope.csr
[ ! -e nope.csr ] || fail "csr with wrong passphrase left a file"
expect_fail "existing file" "already exists" "$CERTA" key generate --type ec:p256 --out ec-p256.pem
echo garbage >garbage.pem
expect_fail "not a key" "not a PEM or DER private key" "$CERTA" key show garbage.pem

# CSRs: every key type, SANs and EKU visible to openssl, signature valid.
for f in ec-p256 ec-p384 rsa-2048 ed25519; do
    "$CERTA" csr --key "$f.pem" --subject "CN=r1.example.com,O=Example\\, Inc.,C=DE" \
        --san dns:r1.example.com --san ip:192.0.2.10 --san ip:2001:db8::10 \
        --san email:noc@example.com --san uri:https://r1.example.com/ \
        --key-usage ike,ssl-client,ssl-server --challenge s3cret --out "$f.csr"
    openssl req -in "$f.csr" -verify -noout 2>&1 | grep -q 'verify OK' || fail "$f.csr does not verify"
    openssl req -in "$f.csr" -noout -text >"$f.txt"
    grep -q 'Subject: CN = r1.example.com, O = "Example, Inc.", C = DE' "$f.txt" || { grep Subject: "$f.txt"; fail "$f.csr subject"; }
    for want in 'DNS:r1.example.com' 'IP Address:192.0.2.10' 'IP Address:2001:DB8:0:0:0:0:0:10' \
                'email:noc@example.com' 'URI:https://r1.example.com/' 'ipsec Internet Key Exchange' \
                'TLS Web Client Authentication' 'TLS Web Server Authentication' 'challengePassword *:s3cret'; do
        grep -q "$want" "$f.txt" || fail "$f.csr lacks $want"
    done
done
grep -q 'ecdsa-with-SHA256' ec-p256.txt || fail "default digest is not sha256"
# The EKU OID is id-kp-ipsecIKE.
openssl req -in ec-p256.csr -outform DER | od -An -v -tx1 | tr -d ' \n' | grep -q '06082b06010505070311' \
    || fail "EKU OID 1.3.6.1.5.5.7.3.17 missing"
"$CERTA" csr --key rsa-2048.pem --subject /CN=r2/O=Example --digest sha384 --der --out r2.der
openssl req -inform DER -in r2.der -verify -noout -text 2>&1 | grep -q 'sha384WithRSAEncryption' || fail "sha384 DER csr"
# PEM to stdout; encrypted key; slash form subject.
"$CERTA" csr --key ec-p384.enc.pem --passphrase-file pass.txt --subject /CN=r3 | openssl req -verify -noout 2>&1 \
    | grep -q 'verify OK' || fail "csr to stdout"

# A keystore key signs CSRs too (--label).
CERTA_STATE="$T/state" "$CERTA" key generate --label dev1 --type ec:p384
CERTA_STATE="$T/state" "$CERTA" csr --label dev1 --subject CN=dev1 --out dev1.csr
cmp <(openssl req -in dev1.csr -noout -pubkey) <(openssl pkey -in "$T/state/keys/dev1.pem" -pubout) || fail "csr --label key"
"$CERTA" csr --key rsa-2048.pem --subject CN=old --digest sha1 --legacy | openssl req -noout -text \
    | grep -q sha1WithRSAEncryption || fail "legacy sha1 csr"
expect_fail "sha1 without --legacy" "legacy" "$CERTA" csr --key rsa-2048.pem --subject CN=old --digest sha1

# Bad CSR parameters.
expect_fail "unknown attribute" "unknown subject attribute 'XY'" "$CERTA" csr --key ec-p256.pem --subject CN=a,XY=b
expect_fail "bad san" "unknown type" "$CERTA" csr --key ec-p256.pem --subject CN=a --san x400:foo
expect_fail "bad ip" "not an IPv4 or IPv6" "$CERTA" csr --key ec-p256.pem --subject CN=a --san ip:1.2.3.999
expect_fail "bad usage" "unknown key usage 'codesign'" "$CERTA" csr --key ec-p256.pem --subject CN=a --key-usage ike,codesign
expect_fail "bad digest" "md5" "$CERTA" csr --key ec-p256.pem --subject CN=a --digest md5
openssl genrsa -out trad1024.pem 1024 2>/dev/null
expect_fail "weak key csr" "rsa:1024" "$CERTA" csr --key trad1024.pem --subject CN=a --out weak.csr
[ ! -e weak.csr ] || fail "refused csr left a file"

# Zeroize: the file is gone; a second zeroize fails.
cp ec-p256.pem victim.pem
"$CERTA" key zeroize ./victim.pem
[ ! -e victim.pem ] || fail "zeroized file still exists"
expect_fail "zeroize missing" "victim.pem" "$CERTA" key zeroize ./victim.pem

# Usage errors exit 2.
set +e
"$CERTA" key generate --type ec:p256 >/dev/null 2>&1; [ $? -eq 2 ] || fail "usage error exit code"
set -e
"$CERTA" key generate --help | grep -q -- '--passphrase-file' || fail "help"
echo "ok: key and csr commands"
