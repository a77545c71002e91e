# Shared by the OCSP and CRL-over-HTTP integration tests: a CA whose
# profile URLs point at a certad on a free loopback port, device
# certificates, and serving the CA. Sourced after ca_common.sh and
# certad_common.sh.
[ -x "$CERTAD" ] || fail "certad is not built ($CERTAD)"
PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"

# new_ca DIR SUBJECT: a CA whose CDP/AIA URLs name this test's certad.
new_ca() {
  "$CERTA" ca init --dir "$1" --subject "$2" >/dev/null
  sed -i "s|^base_url = .*|base_url = $BASE|" "$1/ca.conf"
}
# issue DIR NAME: NAME.key, NAME.crt issued by the CA in DIR.
issue() {
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$2.key" \
    -subj "/CN=$2" -out "$2.csr" 2>/dev/null
  "$CERTA" ca issue --dir "$1" --csr "$2.csr" --out "$2.crt" >/dev/null
}
serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
# serve_ca DIR: certad --dir DIR --listen 127.0.0.1:PORT (the default form).
serve_ca() { start_certad "$BASE" --dir "$1" --listen "127.0.0.1:$PORT"; }
# Row counts that a refused request must leave as they were (the CRL
# number is left out: certad's own CRL schedule may take the next one).
store_state() {
  sqlite3 "$1/ca.db" "SELECT (SELECT count(*) FROM certificates) || ' ' ||
    (SELECT count(*) FROM requests) || ' ' || (SELECT count(*) FROM revocations) || ' ' ||
    (SELECT count(*) FROM nonces) || ' ' || (SELECT count(*) FROM transactions) || ' ' ||
    (SELECT coalesce(group_concat(name || '=' || value), '') FROM counters WHERE name != 'crl')"
}
