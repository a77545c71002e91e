# CMP against certad with real clients: `openssl cmp` (ir with MAC in the
# acceptance form, cr and kur with signature, p10cr, genm, rr, a manually
# approved request it polls for, a certificate it never confirms) and
# certa's own client; refusals checked against the store.
source "$(dirname "$0")/ca_common.sh"
CERTAD="$CERTA_BIN/certad"
[ -x "$CERTAD" ] || { echo "SKIP: certad is not built"; exit 0; }
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
PORT=$(free_port)
URL="127.0.0.1:$PORT"

"$CERTA" ca init --dir ca --subject "CN=CMP Test CA" >/dev/null
# A manufacturer root and a device certificate under it (IDevID), and one
# from a manufacturer the CA does not trust.
for m in mfr other; do
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $m.key -out $m.crt \
    -subj "/CN=$m root" -days 30 2>/dev/null
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out idev-$m.key 2>/dev/null
  openssl req -new -key idev-$m.key -subj "/CN=device-$m" -out idev-$m.csr 2>/dev/null
  openssl x509 -req -in idev-$m.csr -CA $m.crt -CAkey $m.key -CAcreateserial -days 30 -out idev-$m.crt 2>/dev/null
done
printf '\n[cmp]\nconfirm_timeout = 2\npoll_interval = 1\ntrust_anchors = %s\n' "$T/mfr.crt" >>ca/ca.conf
"$CERTAD" --dir ca --listen "$URL" >certad.log 2>&1 &
PID=$!
for _ in $(seq 100); do curl -sf "http://$URL/healthz" >/dev/null && break; sleep 0.1; done
curl -sf "http://$URL/healthz" >/dev/null || { cat certad.log >&2; fail "certad did not start"; }

secret() { "$CERTA" ca cmp-secret create --dir ca "$@" >sec.txt; REF=$(sed -n 's/^reference=//p' sec.txt); SEC=$(sed -n 's/^secret=//p' sec.txt); }
newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
CMP=(openssl cmp -server "$URL/cmp" -recipient "/CN=CMP Test CA" -srvcert ca/ca.crt)
status_of() { sqlite3 ca/ca.db "SELECT status FROM certificates WHERE serial='$(openssl x509 -in "$1" -noout -serial | sed 's/serial=//' | tr A-F a-f | sed 's/^0*//')'"; }

# ---- the acceptance form --------------------------------------------------------
for bad in "--uses -3" "--uses x" "--ttl 5x" "--ttl -1"; do
  rc=0; "$CERTA" ca cmp-secret create --dir ca $bad >/dev/null 2>&1 || rc=$?
  [ "$rc" = 2 ] || fail "cmp-secret create $bad: exit $rc"
done
[ "$(sqlite3 ca/ca.db 'SELECT count(*) FROM secrets')" = 0 ] || fail "a refused cmp-secret create stored a secret"
secret
[ "$(wc -l <sec.txt)" -eq 2 ] && grep -qE '^reference=[0-9a-f]+$' sec.txt && grep -qE '^secret=[0-9a-f]+$' sec.txt ||
  fail "cmp-secret create output"
sqlite3 ca/ca.db "SELECT hex(blob) FROM secrets WHERE ref='$REF'" | grep -qi "$(printf %s "$SEC" | od -An -tx1 | tr -d " \n")" &&
  fail "the secret is stored in the clear"
newkey dev.key
openssl cmp -cmd ir -server "$URL/cmp" -ref "$REF" -secret "pass:$SEC" -recipient "/CN=CMP Test CA" \
  -newkey dev.key -subject /CN=dev -certout dev.pem >ir.log 2>&1 || { cat ir.log >&2; fail "acceptance ir"; }
openssl verify -CAfile ca/ca.crt dev.pem >/dev/null || fail "issued certificate does not verify"
[ "$(openssl x509 -in dev.pem -noout -subject)" = "subject=CN = dev" ] || fail "subject"
ok "ir with MAC (acceptance form)"

# ---- refusals: nothing stored ---------------------------------------------------
refused() {  # refused WANT ARGS...: openssl cmp fails, reports WANT, store unchanged
  local want=$1; shift
  local before; before=$(counts ca)
  if "${CMP[@]}" "$@" >ref.log 2>&1; then fail "accepted: $*"; fi
  grep -q "$want" ref.log || { cat ref.log >&2; fail "no $want in the answer"; }
  [ "$before" = "$(counts ca)" ] || fail "store changed after a refusal ($*)"
}
newkey k1.key
refused notAuthorized -cmd ir -ref "$REF" -secret "pass:$SEC" -newkey k1.key -subject /CN=dev -certout x.pem
secret
refused badMessageCheck -cmd ir -ref "$REF" -secret pass:wrong -newkey k1.key -subject /CN=dev -certout x.pem
refused badMessageCheck -cmd ir -ref 00000000 -secret "pass:$SEC" -newkey k1.key -subject /CN=dev -certout x.pem
refused badCertTemplate -server "$URL/.well-known/cmp/p/tls-server" -cmd ir -ref "$REF" -secret "pass:$SEC" \
  -newkey k1.key -subject /CN=dev -certout x.pem
before=$(counts ca)
code=$(curl -s -o junk.der -w '%{http_code}' -H 'Content-Type: application/pkixcmp' --data-binary 'not a PKIMessage' \
  "http://$URL/cmp")
[ "$code" = 200 ] && openssl asn1parse -inform DER -in junk.der >/dev/null || fail "garbage not answered in CMP"
head -c 70000 /dev/zero >big.bin
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/pkixcmp' --data-binary @big.bin "http://$URL/cmp")
[ "$code" = 413 ] || fail "oversize body: HTTP $code"
[ "$before" = "$(counts ca)" ] || fail "store changed after garbage"
ok "refusals (used secret, wrong secret, unknown reference, forbidden template, garbage, oversize)"

# ---- signature: cr and kur with the current certificate, p10cr, genm, rr ---------
newkey k2.key
"${CMP[@]}" -cmd cr -cert dev.pem -key dev.key -trusted ca/ca.crt -newkey k2.key -subject /CN=dev -certout cr.pem \
  >cr.log 2>&1 || { cat cr.log >&2; fail "cr with signature"; }
newkey k3.key
"${CMP[@]}" -cmd kur -cert cr.pem -key k2.key -trusted ca/ca.crt -newkey k3.key -certout kur.pem >kur.log 2>&1 ||
  { cat kur.log >&2; fail "kur"; }
[ "$(openssl x509 -in kur.pem -noout -subject)" = "subject=CN = dev" ] || fail "kur subject"
secret --uses 3
openssl req -new -key k1.key -subj /CN=p10 -out p10.csr
"${CMP[@]}" -cmd p10cr -ref "$REF" -secret "pass:$SEC" -csr p10.csr -certout p10.pem >p10.log 2>&1 ||
  { cat p10.log >&2; fail "p10cr"; }
openssl verify -CAfile ca/ca.crt p10.pem >/dev/null || fail "p10cr certificate"
"${CMP[@]}" -cmd genm -ref "$REF" -secret "pass:$SEC" -infotype caCerts >genm.log 2>&1 || fail "genm"
grep -q "id-it-caCerts" genm.log || fail "genp without caCerts"
ocsp() { openssl ocsp -issuer ca/ca.crt -cert "$1" -url "http://$URL/ocsp" -CAfile ca/ca.crt -no_nonce 2>/dev/null |
  sed -n "s|^$1: ||p"; }
[ "$(ocsp kur.pem)" = good ] || fail "OCSP before rr: $(ocsp kur.pem)"
"${CMP[@]}" -cmd rr -cert kur.pem -key k3.key -trusted ca/ca.crt -oldcert kur.pem -revreason 1 >rr.log 2>&1 ||
  { cat rr.log >&2; fail "rr"; }
[ "$(status_of kur.pem)" = 1 ] || fail "rr did not revoke"
# the pre-signed OCSP answer is replaced at once
[ "$(ocsp kur.pem)" = revoked ] || fail "OCSP after rr: $(ocsp kur.pem)"
refused "rejection" -cmd rr -cert cr.pem -key k2.key -trusted ca/ca.crt -oldcert dev.pem -revreason 1
ok "cr, kur (signature), p10cr, genm caCerts, rr"

# ---- signature with a manufacturer certificate (IDevID) ---------------------------
"${CMP[@]}" -cmd ir -cert idev-mfr.crt -key idev-mfr.key -trusted ca/ca.crt -newkey k1.key -subject /CN=device-mfr \
  -certout idev-issued.pem >idev.log 2>&1 || { cat idev.log >&2; fail "ir signed with a manufacturer certificate"; }
openssl verify -CAfile ca/ca.crt idev-issued.pem >/dev/null || fail "IDevID enrollment certificate"
refused signerNotTrusted -cmd ir -cert idev-other.crt -key idev-other.key -trusted ca/ca.crt -newkey k1.key \
  -subject /CN=device-other -certout x.pem
refused notAuthorized -cmd kur -cert idev-mfr.crt -key idev-mfr.key -trusted ca/ca.crt -newkey k1.key -certout x.pem
ok "ir with a manufacturer certificate; untrusted manufacturer and kur with it refused"

# ---- manual approval: openssl cmp polls until the operator approves ------------
"${CMP[@]}" -server "$URL/.well-known/cmp/p/manual" -cmd ir -ref "$REF" -secret "pass:$SEC" -newkey k1.key \
  -subject /CN=polled -certout polled.pem >poll.log 2>&1 &
CPID=$!
for _ in $(seq 50); do id=$("$CERTA" ca requests --dir ca | awk '$2=="pending"{print $1}' | head -1); [ -n "$id" ] && break; sleep 0.2; done
[ -n "$id" ] || fail "no pending request"
"$CERTA" ca approve --dir ca "$id" >/dev/null
wait $CPID || { cat poll.log >&2; fail "polled enrollment"; }
grep -q "polling" poll.log || fail "the client did not poll"
openssl verify -CAfile ca/ca.crt polled.pem >/dev/null || fail "polled certificate"
ok "pollReq/pollRep until approval"

# ---- never confirmed: revoked after confirm_timeout -------------------------------
secret
"${CMP[@]}" -cmd ir -ref "$REF" -secret "pass:$SEC" -newkey k1.key -subject /CN=unconfirmed -disable_confirm \
  -certout unc.pem >unc.log 2>&1 || { cat unc.log >&2; fail "ir without confirmation"; }
[ "$(status_of unc.pem)" = 0 ] || fail "revoked too early"
sleep 4
[ "$(status_of unc.pem)" = 1 ] || fail "an unconfirmed certificate was not revoked"
ok "unconfirmed certificate revoked"

# ---- certa's client against certad: ir, kur, rr --------------------------------
export CERTA_STATE="$T/dev"
secret
FPR=$(openssl x509 -in ca/ca.crt -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f)
"$CERTA" --state "$CERTA_STATE" trustpoint add r1 --protocol cmp --url "http://$URL/cmp" --cmp-ref "$REF" \
  --cmp-secret "$SEC" --subject CN=router1 --fingerprint "sha256:$FPR"
"$CERTA" --state "$CERTA_STATE" ca authenticate r1 >auth.out || fail "ca authenticate over CMP genm"
cmp -s <(openssl x509 -in "$CERTA_STATE/trustpoints/r1/ca.pem" -outform DER) <(openssl x509 -in ca/ca.crt -outform DER) ||
  fail "genm did not install the CA certificate"
"$CERTA" --state "$CERTA_STATE" trustpoint add r2 --protocol cmp --url "http://$URL/cmp" --cmp-ref "$REF" \
  --cmp-secret "$SEC" --fingerprint "sha256:$(printf '%064d' 0)"
if "$CERTA" --state "$CERTA_STATE" ca authenticate r2 --yes >/dev/null 2>&1; then fail "a wrong fingerprint was accepted"; fi
"$CERTA" --state "$CERTA_STATE" enroll r1 || fail "certa enroll over CMP"
openssl verify -CAfile ca/ca.crt "$CERTA_STATE/trustpoints/r1/cert.pem" >/dev/null || fail "certa's certificate"
first=$(openssl x509 -in "$CERTA_STATE/trustpoints/r1/cert.pem" -noout -serial)
"$CERTA" --state "$CERTA_STATE" enroll r1 || fail "certa kur"
[ "$first" != "$(openssl x509 -in "$CERTA_STATE/trustpoints/r1/cert.pem" -noout -serial)" ] || fail "kur installed nothing"
"$CERTA" --state "$CERTA_STATE" enroll r1 --cr || fail "certa enroll --cr"
"$CERTA" --state "$CERTA_STATE" enroll r1 --p10cr || fail "certa enroll --p10cr"
[ "$(openssl x509 -in "$CERTA_STATE/trustpoints/r1/cert.pem" -noout -subject)" = "subject=CN = router1" ] ||
  fail "subject after cr/p10cr"
grep -q 'detail="cmp cr .*cert:' certad.log && grep -q 'detail="cmp p10cr .*cert:' certad.log &&
  grep -q 'detail="cmp kur .*cert:' certad.log || fail "certa did not send kur, cr and p10cr signed with its certificate"
"$CERTA" --state "$CERTA_STATE" revoke r1 --reason superseded >/dev/null || fail "certa revoke"
# manual approval: certa polls at its retry period (capped by checkAfter)
secret
"$CERTA" --state "$CERTA_STATE" trustpoint add m1 --protocol cmp --url "http://$URL/.well-known/cmp/p/manual" \
  --cmp-ref "$REF" --cmp-secret "$SEC" --subject CN=router-m --retry-period 1 --retry-count 20
"$CERTA" --state "$CERTA_STATE" enroll m1 >m1.log 2>&1 &
EPID=$!
id=
for _ in $(seq 50); do id=$("$CERTA" ca requests --dir ca | awk '$2=="pending" && /router-m/ {print $1}' | head -1); [ -n "$id" ] && break; sleep 0.2; done
[ -n "$id" ] || fail "certa's request is not pending"
sleep 1.5
"$CERTA" ca approve --dir ca "$id" >/dev/null
wait $EPID || { cat m1.log >&2; fail "certa enroll with polling"; }
openssl verify -CAfile ca/ca.crt "$CERTA_STATE/trustpoints/m1/cert.pem" >/dev/null || fail "polled certificate"
[ "$(status_of "$CERTA_STATE/trustpoints/r1/cert.pem")" = 1 ] || fail "certa revoke did not revoke"
ok "certa client: ca authenticate (genm), ir, kur, cr, p10cr, rr, polling until approval against certad"
