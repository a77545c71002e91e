# certa ca revoke / unhold / crl: revocation by serial and by list, holds,
# full and delta CRLs checked with openssl (crl -verify, verify -crl_check),
# and every bad input refused with one line and the store unchanged (row
# counts, revocation sequence and CRL number compared before and after).
source "$(dirname "$0")/ca_common.sh"

# The revocation state an operation must not touch.
state() {
  sqlite3 "$1/ca.db" "SELECT (SELECT count(*) FROM certificates) || ' ' ||
    (SELECT count(*) FROM certificates WHERE status=1) || ' ' ||
    (SELECT count(*) FROM revocations) || ' ' ||
    (SELECT coalesce(group_concat(name || '=' || value), '') FROM counters) || ' ' ||
    (SELECT coalesce(group_concat(key || '=' || value), '') FROM meta)"
}
refuse() { # refuse DIR WANT-IN-MESSAGE certa-args...
  local dir=$1 want=$2 before after rc=0; shift 2
  before=$(state "$dir")
  "$CERTA" "$@" >"$T/out" 2>"$T/err" || rc=$?
  after=$(state "$dir")
  [ "$rc" -ne 0 ] || fail "certa $* succeeded"
  [ "$(wc -l <"$T/err")" -eq 1 ] || { cat "$T/err" >&2; fail "certa $*: expected one line on stderr"; }
  grep -qi -- "$want" "$T/err" || { cat "$T/err" >&2; fail "certa $*: error does not mention '$want'"; }
  [ "$before" = "$after" ] || fail "certa $*: store changed ($before -> $after)"
  LAST_RC=$rc
}
crltext() { openssl crl "$@" -CAfile ca/ca.crt -verify -noout -text 2>&1; }

"$CERTA" ca init --dir ca --subject "CN=Revoke CA,O=Example" >/dev/null
# The IDP names the URL the certificates' CDP names, else openssl sees another scope.
sed -i 's|^\[crl\]$|[crl]\nidp_url = http://127.0.0.1:8080/crl/ca.crl|' ca/ca.conf
for i in 1 2 3 4 5 6; do
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout d$i.key \
    -subj "/CN=device$i" -out d$i.csr 2>/dev/null
  "$CERTA" ca issue --dir ca --csr d$i.csr --out d$i.crt >/dev/null
done
ser() { openssl x509 -in "d$1.crt" -noout -serial; }       # serial=ABCD...
hex() { ser "$1" | cut -d= -f2; }
lowcolon() { hex "$1" | tr 'A-F' 'a-f' | sed 's/../&:/g; s/:$//'; }

# Delta before any full CRL: refused, CRL number untouched.
refuse ca "no full CRL" ca crl --dir ca --delta
ok "delta CRL needs a full base first"

# Revocations in the forms operators type.
"$CERTA" ca revoke --dir ca --serial "$(ser 1)" --reason keyCompromise \
  --invalidity-date 20240101120000Z | grep -q "revoked" || fail "revoke d1"
"$CERTA" ca revoke --dir ca --serial "$(lowcolon 2)" --reason certificate-hold >/dev/null
"$CERTA" ca revoke --dir ca --serial "$(hex 3)" >/dev/null
ok "revoke by openssl -serial form, lowercase with colons, bare hex"

# Bad input: each refused with one line, nothing changed.
refuse ca "no certificate" ca revoke --dir ca --serial 0123456789ABCDEF
[ "$LAST_RC" -eq 3 ] || fail "unknown serial exit code $LAST_RC, want 3"
refuse ca "already revoked" ca revoke --dir ca --serial "$(ser 1)" --reason superseded
refuse ca "unknown revocation reason" ca revoke --dir ca --serial "$(ser 4)" --reason stolen
refuse ca "unhold" ca revoke --dir ca --serial "$(ser 4)" --reason removeFromCRL
refuse ca "not hexadecimal" ca revoke --dir ca --serial "xyz"
refuse ca "YYYYMMDDHHMMSSZ" ca revoke --dir ca --serial "$(ser 4)" --invalidity-date 2024-01-01
refuse ca "future" ca revoke --dir ca --serial "$(ser 4)" --invalidity-date 20991231000000Z
refuse ca "not on hold" ca unhold --dir ca --serial "$(ser 1)"
refuse ca "no certificate" ca unhold --dir ca --serial ABCDEF
printf '%s\n' "$(ser 4)" "serial=0FEDCBA987654321" "$(hex 5)" > bad-list.txt
refuse ca "serial 2 of 3" ca revoke --dir ca --serials-from bad-list.txt
printf '%s\n' "$(ser 4)" "$(ser 1)" > dup-list.txt
refuse ca "already revoked" ca revoke --dir ca --serials-from dup-list.txt
refuse ca "no serial" ca revoke --dir ca --serials-from /dev/null
ok "bad serials, reasons, dates and lists change nothing (mass revocation is all or nothing)"

# Full CRL, PEM: verified and read by openssl.
"$CERTA" ca crl --dir ca --out full1.pem
text=$(crltext -in full1.pem)
grep -q "verify OK" <<<"$text" || fail "full CRL does not verify: $text"
grep -q "Version 2" <<<"$text" || fail "CRL version"
grep -A1 "CRL Number" <<<"$text" | grep -qx " *1" || fail "first CRL number is not 1"
grep -q "Authority Key Identifier" <<<"$text" || fail "AKI"
grep -q "URI:http://127.0.0.1:8080/crl/ca.crl" <<<"$text" || fail "IDP"
grep -q "Serial Number: $(hex 1)" <<<"$text" || fail "d1 not listed"
grep -q "Serial Number: $(hex 2)" <<<"$text" || fail "d2 not listed"
grep -q "Serial Number: $(hex 3)" <<<"$text" || fail "d3 not listed"
grep -q "Serial Number: $(hex 4)" <<<"$text" && fail "d4 listed"
grep -q "Key Compromise" <<<"$text" || fail "reason keyCompromise"
grep -q "Certificate Hold" <<<"$text" || fail "reason certificateHold"
grep -A1 "Invalidity Date" <<<"$text" | grep -q "Jan  1 12:00:00 2024 GMT" || fail "invalidity date"
[ "$(grep -c 'Serial Number:' <<<"$text")" -eq 3 ] || fail "full CRL entry count"
ndays=$(( ($(date -d "$(openssl crl -in full1.pem -noout -nextupdate | cut -d= -f2)" +%s) -
           $(date -d "$(openssl crl -in full1.pem -noout -lastupdate | cut -d= -f2)" +%s)) / 3600 ))
[ "$ndays" -eq 168 ] || fail "nextUpdate is $ndays hours after thisUpdate, want 168"
openssl verify -crl_check -CAfile ca/ca.crt -CRLfile full1.pem d1.crt >/dev/null 2>&1 && fail "d1 verifies"
vout=$(openssl verify -crl_check -CAfile ca/ca.crt -CRLfile full1.pem d1.crt 2>&1 || true)
grep -q "certificate revoked" <<<"$vout" || fail "openssl does not see d1 revoked: $vout"
openssl verify -crl_check -CAfile ca/ca.crt -CRLfile full1.pem d4.crt >/dev/null || fail "d4 should verify"
ok "full CRL: number, AKI, IDP, reasons, invalidity date, nextUpdate; openssl verify -crl_check"

# Release the hold, revoke two by list (all forms), then a delta (DER).
"$CERTA" ca unhold --dir ca --serial "$(ser 2)" | grep -q released || fail "unhold"
refuse ca "not on hold" ca unhold --dir ca --serial "$(ser 2)"
printf '# rotated\n%s\n\n  %s  \n' "$(ser 4)" "$(lowcolon 5)" > list.txt
"$CERTA" ca revoke --dir ca --serials-from list.txt --reason superseded | grep -q "revoked 2 certificates" || fail "mass revoke"
"$CERTA" ca crl --dir ca --delta --der --out delta.der
text=$(crltext -inform DER -in delta.der)
grep -q "verify OK" <<<"$text" || fail "delta CRL does not verify"
grep -A1 "Delta CRL Indicator: critical" <<<"$text" | grep -qx " *1" || fail "delta base is not CRL 1"
grep -A1 "CRL Number" <<<"$text" | grep -qx " *2" || fail "delta CRL number"
grep -q "Remove From CRL" <<<"$text" || fail "released hold not removeFromCRL"
for i in 2 4 5; do grep -q "Serial Number: $(hex $i)" <<<"$text" || fail "delta lacks d$i"; done
[ "$(grep -c 'Serial Number:' <<<"$text")" -eq 3 ] || fail "delta entry count"
ok "delta CRL: indicator, removeFromCRL, new revocations only"

# Next full CRL: the released certificate is gone, the new ones are there.
"$CERTA" ca crl --dir ca > full2.pem
text=$(crltext -in full2.pem)
grep -q "verify OK" <<<"$text" || fail "second full CRL"
grep -A1 "CRL Number" <<<"$text" | grep -qx " *3" || fail "CRL number 3"
grep -q "Serial Number: $(hex 2)" <<<"$text" && fail "released d2 still listed"
[ "$(grep -c 'Serial Number:' <<<"$text")" -eq 4 ] || fail "second full entry count"
"$CERTA" ca crl --dir ca --delta > delta2.pem
text=$(crltext -in delta2.pem)
grep -q "No Revoked Certificates" <<<"$text" || fail "delta after a fresh base should be empty"
grep -A1 "Delta CRL Indicator" <<<"$text" | grep -qx " *3" || fail "delta names base 3"
ok "full CRL after release; empty delta against the new base"

# A corrupt database: one line, nothing written.
cp -r ca broken && head -c 4096 /dev/urandom > broken/ca.db && rm -f broken/ca.db-wal broken/ca.db-shm
rc=0; "$CERTA" ca crl --dir broken --out broken.pem 2>err || rc=$?
[ $rc -ne 0 ] && [ "$(wc -l <err)" -eq 1 ] && [ ! -e broken.pem ] || fail "corrupt database"
ok "corrupt database refused"

# 10,000 entries, generated as the benchmark does, verified by openssl.
GEN="$CERTA_BIN/bench/crl_gen"
if [ -x "$GEN" ]; then
  "$CERTA" ca init --dir big --subject "CN=Big CA" >/dev/null
  "$GEN" big 10000 index.txt
  "$CERTA" ca crl --dir big --der --out big.der
  text=$(openssl crl -inform DER -in big.der -CAfile big/ca.crt -verify -noout -text 2>&1)
  grep -q "verify OK" <<<"$text" || fail "10,000-entry CRL does not verify"
  [ "$(grep -c 'Serial Number:' <<<"$text")" -eq 10000 ] || fail "10,000-entry count"
  ok "10,000-entry CRL verifies with openssl"
fi

# A passphrase-protected CA: revoking needs no key, signing the CRL does.
echo "correct horse" > pass.txt
"$CERTA" ca init --dir enc --subject "CN=Locked CA" --passphrase-file pass.txt >/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout e.key \
  -subj "/CN=locked-device" -out e.csr 2>/dev/null
CERTA_CA_PASSPHRASE="correct horse" "$CERTA" ca issue --dir enc --csr e.csr --out e.crt >/dev/null
"$CERTA" ca revoke --dir enc --serial "$(openssl x509 -in e.crt -noout -serial)" >/dev/null ||
  fail "revoke on a locked CA needs no passphrase"
refuse enc "passphrase" ca crl --dir enc --out enc.pem
[ ! -e enc.pem ] || fail "CRL written without the key"
"$CERTA" ca crl --dir enc --passphrase-file pass.txt --out enc.pem
openssl crl -in enc.pem -CAfile enc/ca.crt -verify -noout 2>&1 | grep -q "verify OK" || fail "locked CA CRL"
ok "locked CA: revoke without the key, CRL only with the passphrase"

# [crl] settings: digest, nextUpdate of deltas; legacy digests only on request.
"$CERTA" ca init --dir cfg --subject "CN=Config CA" >/dev/null
sed -i 's|^\[crl\]$|[crl]\ndigest = sha384|; s|^delta_next_update_hours = .*|delta_next_update_hours = 6|' cfg/ca.conf
"$CERTA" ca crl --dir cfg --out cfg-full.pem
openssl crl -in cfg-full.pem -noout -text | grep -q "ecdsa-with-SHA384" || fail "digest = sha384 ignored"
"$CERTA" ca crl --dir cfg --delta --out cfg-delta.pem
hours=$(( ($(date -d "$(openssl crl -in cfg-delta.pem -noout -nextupdate | cut -d= -f2)" +%s) -
           $(date -d "$(openssl crl -in cfg-delta.pem -noout -lastupdate | cut -d= -f2)" +%s)) / 3600 ))
[ "$hours" -eq 6 ] || fail "delta nextUpdate is $hours hours, want 6"
sed -i 's|^digest = sha384|digest = sha1|' cfg/ca.conf
refuse cfg "legacy" ca crl --dir cfg --out cfg-sha1.pem
sed -i 's|^digest = sha1|digest = sha1\nlegacy = yes|' cfg/ca.conf
"$CERTA" ca crl --dir cfg --out cfg-sha1.pem
openssl crl -in cfg-sha1.pem -noout -text | grep -q "ecdsa-with-SHA1" || fail "legacy sha1 CRL"
sed -i 's|^next_update_hours = .*|next_update_hours = soon|' cfg/ca.conf
refuse cfg "next_update_hours" ca crl --dir cfg --out cfg-bad.pem
ok "[crl] digest, delta_next_update_hours, legacy digests and bad settings"
