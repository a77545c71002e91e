# certa ca init: roots of every key type, an intermediate under a certa CA,
# a CA whose parent is an outside CA (made here with openssl), a passphrase-
# protected key; every certificate checked with the openssl CLI.
source "$(dirname "$0")/ca_common.sh"

openssl req -new -newkey ed25519 -nodes -keyout any.key -subj "/CN=any" -out any.csr 2>/dev/null
for key in ec:p256 ec:p384 rsa:2048 ed25519; do
  d=root-${key/:/-}
  "$CERTA" ca init --dir "$d" --subject "CN=Root $key,O=Example" --key "$key" --days 400 >/dev/null
  text=$(openssl x509 -in "$d/ca.crt" -noout -text)
  grep -q "CA:TRUE" <<<"$text" || fail "$key: no CA:TRUE"
  grep -A1 "Basic Constraints: critical" <<<"$text" | grep -q CA:TRUE || fail "$key: basicConstraints not critical"
  grep -q "Certificate Sign, CRL Sign" <<<"$text" || fail "$key: keyCertSign/cRLSign missing"
  grep -q "Subject Key Identifier" <<<"$text" || fail "$key: no SKI"
  grep -q "Authority Key Identifier" <<<"$text" || fail "$key: no AKI"
  openssl verify -CAfile "$d/ca.crt" "$d/ca.crt" >/dev/null || fail "$key: self-signed root does not verify"
  [ "$(stat -c %a "$d/ca.key")" = 600 ] || fail "$key: ca.key not 0600"
  openssl pkey -in "$d/ca.key" -noout || fail "$key: ca.key not readable by openssl"
  grep -q '^\[profile default\]' "$d/ca.conf" || fail "$key: ca.conf has no default profile"
  [ "$(sqlite3 "$d/ca.db" 'select count(*) from certificates')" = 0 ] || fail "$key: store not empty"
  "$CERTA" ca cert --dir "$d" >cert.pem
  openssl x509 -in cert.pem -noout -subject | grep -q "Root $key" || fail "$key: ca cert"
  "$CERTA" ca issue --dir "$d" --csr any.csr --out "$d.leaf" >/dev/null
  openssl verify -CAfile "$d/ca.crt" "$d.leaf" >/dev/null || fail "$key: leaf does not verify"
  ok "root $key (and a leaf under it)"
done
case $(openssl x509 -in root-rsa-2048/ca.crt -noout -text) in *"RSA Public-Key: (2048 bit)"*|*"Public-Key: (2048 bit)"*) ;; *) fail "rsa size";; esac

# Default key type is EC P-256.
"$CERTA" ca init --dir def --subject "/CN=Default/O=Example" >/dev/null
openssl x509 -in def/ca.crt -noout -text | grep -q "NIST CURVE: P-256" || fail "default key is not P-256"
ok "default key ec:p256"

# Intermediate signed by a certa root, recorded in the root's store.
"$CERTA" ca init --dir inter --subject "CN=Intermediate,O=Example" --parent root-ec-p256 --path-len 0 >/dev/null
openssl verify -CAfile root-ec-p256/ca.crt inter/ca.crt >/dev/null || fail "intermediate does not verify"
[ "$(sqlite3 root-ec-p256/ca.db "select count(*) from certificates where profile = 'ca'")" = 1 ] || fail "parent did not record the intermediate"
cmp <(openssl x509 -in inter/chain.pem) <(openssl x509 -in root-ec-p256/ca.crt) || fail "chain.pem is not the parent"
"$CERTA" ca cert --dir inter --chain | grep -c "BEGIN CERTIFICATE" | grep -qx 2 || fail "ca cert --chain"
# A leaf from the intermediate verifies through the chain.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key -subj "/CN=leaf" -out leaf.csr 2>/dev/null
"$CERTA" ca issue --dir inter --csr leaf.csr --out leaf.crt >/dev/null
openssl verify -CAfile root-ec-p256/ca.crt -untrusted inter/ca.crt leaf.crt >/dev/null || fail "leaf under intermediate"
ok "intermediate chain verifies"

# External parent made by openssl: init writes ca.csr, openssl signs it,
# --import-cert installs it.
openssl req -x509 -newkey rsa:2048 -nodes -keyout ext-root.key -subj "/CN=Outside Root" -days 30 \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out ext-root.crt 2>/dev/null
"$CERTA" ca init --dir sub --subject "CN=Sub CA,O=Example" --external >/dev/null
[ -f sub/ca.csr ] && [ ! -f sub/ca.crt ] || fail "external init did not write only the CSR"
openssl req -in sub/ca.csr -noout -verify 2>/dev/null || fail "ca.csr does not verify"
expect_fail sub "waits for its certificate" ca issue --dir sub --csr leaf.csr
printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n' >ext.cnf
openssl x509 -req -in sub/ca.csr -CA ext-root.crt -CAkey ext-root.key -CAcreateserial -days 20 -extfile ext.cnf -out sub.crt 2>/dev/null
# A certificate for another key is refused.
openssl x509 -req -in leaf.csr -CA ext-root.crt -CAkey ext-root.key -CAcreateserial -days 20 -extfile ext.cnf -out wrong.crt 2>/dev/null
rc=0; "$CERTA" ca init --dir sub --import-cert wrong.crt 2>err || rc=$?
[ $rc -ne 0 ] && grep -q "does not match" err || fail "import of a certificate for another key"
"$CERTA" ca init --dir sub --import-cert sub.crt --chain ext-root.crt >/dev/null
[ ! -f sub/ca.csr ] || fail "ca.csr left after import"
"$CERTA" ca issue --dir sub --csr leaf.csr --out leaf2.crt >/dev/null
openssl verify -CAfile ext-root.crt -untrusted sub/ca.crt leaf2.crt >/dev/null || fail "leaf under externally signed CA"
ok "external parent round trip"

# Passphrase-protected CA key.
echo "correct horse" >pass
"$CERTA" ca init --dir enc --subject "CN=Enc" --passphrase-file pass >/dev/null
grep -q "ENCRYPTED PRIVATE KEY" enc/ca.key || fail "ca.key not encrypted"
CERTA_CA_PASSPHRASE="correct horse" "$CERTA" ca issue --dir enc --csr leaf.csr >/dev/null || fail "issue with passphrase env"
"$CERTA" ca issue --dir enc --csr leaf.csr --passphrase-file pass >/dev/null || fail "issue with passphrase file"
ok "encrypted CA key"

# Refusals.
rc=0; "$CERTA" ca init --dir def --subject "CN=Again" 2>err || rc=$?
[ $rc -ne 0 ] && grep -q "already holds a CA" err || fail "init over an existing CA"
rc=0; "$CERTA" ca init --dir weak --subject "CN=Weak" --key rsa:1024 2>err || rc=$?
[ $rc -ne 0 ] && [ ! -e weak/ca.key ] || fail "rsa:1024 CA key accepted"
rc=0; "$CERTA" ca init --dir badsubj --subject "XX=nope" 2>err || rc=$?
[ $rc -ne 0 ] && [ ! -e badsubj ] || fail "bad subject accepted"
ok "init refusals"
echo "all ca init tests passed"
