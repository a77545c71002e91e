#!/usr/bin/env bash
# SCEP enrollment end to end against micromdm's scepserver (a real SCEP CA,
# RSA) on loopback: ca authenticate (pinned fingerprint, --yes, refusal
# without a terminal, mismatch exit 4), enrollment with legacy on (its
# answer is single-DES), the exact refusal with legacy off, renewal with the
# current certificate; results checked with openssl.
source "$(dirname "$0")/enroll_common.sh"
command -v scepserver >/dev/null || { echo "SKIP: scepserver (package scep) not installed"; exit 0; }
PORT=$(free_port)
start_scepserver "$T/mdm" "$PORT" -allowrenew 0
URL="http://127.0.0.1:$PORT/scep"
CA="$T/mdm/depot/ca.pem"
fp=$(openssl x509 -in "$CA" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f)

# --- ca authenticate ---------------------------------------------------------
"$CERTA" trustpoint add pinned --protocol scep --url "$URL" --fingerprint "sha256:$fp" --challenge pw \
    --subject CN=r1.example.com --legacy
"$CERTA" ca authenticate pinned >auth.txt </dev/null
grep -q "^Fingerprint sha256:$(openssl x509 -in "$CA" -noout -fingerprint -sha256 | sed 's/.*=//')$" auth.txt \
    || { cat auth.txt; fail "authenticate does not show the SHA-256 fingerprint"; }
grep -q '^Fingerprint md5   :' auth.txt && grep -q '^Fingerprint sha1  :' auth.txt && grep -q '^Serial Number  :' auth.txt \
    && grep -q '^Validity End   :' auth.txt || { cat auth.txt; fail "authenticate output"; }
cmp <(openssl x509 -in "$CA") <(openssl x509 -in "$CERTA_STATE/trustpoints/pinned/ca.pem") || fail "stored CA differs"
ok "pinned CA authenticated and stored"

"$CERTA" trustpoint add wrongpin --protocol scep --url "$URL" --fingerprint "sha256:$(printf '%064d' 0)"
expect_fail 4 "fingerprint mismatch: the CA certificate's fingerprint is sha256:$fp, the trustpoint expects sha256:$(printf '%064d' 0)" \
    "$CERTA" ca authenticate wrongpin --yes
[ ! -e "$CERTA_STATE/trustpoints/wrongpin/ca.pem" ] || fail "mismatched CA stored"
ok "fingerprint mismatch refused with exit 4, nothing stored"

"$CERTA" trustpoint add nopin --protocol scep --url "$URL" --challenge pw --subject CN=r2.example.com
# No controlling terminal, no --yes: refused.
expect_fail 4 "no terminal to confirm" setsid -w "$CERTA" ca authenticate nopin
# At a terminal (a pty from script(1)) the operator's answer decides.
(sleep 1; echo no) | script -qec "$CERTA ca authenticate nopin" /dev/null >prompt.txt || true
grep -q 'Do you accept this certificate? \[yes/no\]:' prompt.txt || { cat prompt.txt; fail "no prompt"; }
grep -q 'was not accepted; nothing stored' prompt.txt || { cat prompt.txt; fail "declined: no refusal"; }
[ ! -e "$CERTA_STATE/trustpoints/nopin/ca.pem" ] || fail "declined CA stored"
(sleep 1; echo yes) | script -qec "$CERTA ca authenticate nopin" /dev/null >prompt.txt
grep -q 'CA certificate of trustpoint nopin stored' prompt.txt || { cat prompt.txt; fail "accepted at the prompt: not stored"; }
cmp <(openssl x509 -in "$CA") <(openssl x509 -in "$CERTA_STATE/trustpoints/nopin/ca.pem") || fail "prompt stored another CA"
rm "$CERTA_STATE/trustpoints/nopin/ca.pem"
"$CERTA" ca authenticate nopin --yes </dev/null >/dev/null
[ -s "$CERTA_STATE/trustpoints/nopin/ca.pem" ] || fail "--yes did not store the CA"
ok "unpinned CA: refused without a terminal, declined and accepted at the prompt, accepted with --yes"

# --- enrollment, legacy on ---------------------------------------------------
"$CERTA" enroll pinned >/dev/null
TP="$CERTA_STATE/trustpoints/pinned"
openssl verify -CAfile "$CA" "$TP/cert.pem" >/dev/null || fail "issued certificate does not verify against the CA"
openssl x509 -in "$TP/cert.pem" -noout -subject | grep -q 'CN = r1.example.com' || fail "issued subject"
cmp <(openssl x509 -in "$TP/cert.pem" -noout -pubkey) <(openssl pkey -in "$CERTA_STATE/keys/pinned.pem" -pubout) \
    || fail "issued certificate is not for the trustpoint's key"
openssl pkey -in "$CERTA_STATE/keys/pinned.pem" -noout -text | grep -q 'Private-Key: (2048 bit' || fail "SCEP key is not RSA-2048"
[ ! -e "$TP/scep-pending" ] || fail "pending state left behind"
"$CERTA" show certificates pinned --json | python3 -c '
import json, sys
a = json.load(sys.stdin)
assert [e["status"] for e in a if e["role"] == "local"] == ["Available"], a'
ok "enrolled through micromdm (single-DES answer read with legacy)"

# --- renewal: RenewalReq signed with the current certificate -----------------
serial1=$(openssl x509 -in "$TP/cert.pem" -noout -serial)
"$CERTA" enroll pinned >/dev/null
serial2=$(openssl x509 -in "$TP/cert.pem" -noout -serial)
[ "$serial1" != "$serial2" ] || fail "renewal did not install a new certificate"
openssl verify -CAfile "$CA" "$TP/cert.pem" >/dev/null || fail "renewed certificate does not verify"
ok "renewed ($serial1 -> $serial2)"

# --- legacy off: the single-DES answer is refused, and says why ---------------
"$CERTA" key generate --label nopin --type rsa:2048
expect_fail 4 "the server used single DES (des-cbc) to encrypt its answer, a broken cipher; --legacy on the trustpoint would allow it" \
    "$CERTA" enroll nopin
[ ! -e "$CERTA_STATE/trustpoints/nopin/cert.pem" ] || fail "certificate installed without legacy"
ok "single-DES answer refused without legacy, key and state untouched"

# --- an EC key cannot do SCEP ----------------------------------------------
"$CERTA" trustpoint add ec --protocol scep --url "$URL" --challenge pw --key eckey --legacy
"$CERTA" key generate --label eckey --type ec:p256
cp "$CERTA_STATE/trustpoints/pinned/ca.pem" "$CERTA_STATE/trustpoints/ec/ca.pem"
expect_fail 1 "SCEP needs an RSA key pair" "$CERTA" enroll ec
ok "EC key refused for SCEP with a clear message"
