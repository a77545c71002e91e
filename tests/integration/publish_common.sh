# Shared by the OCSP and CRL-over-HTTP integration tests: a CA whose
# profile URLs point at a certad started on a free loopback port, device
# certificates, and starting/stopping certad. Sourced after ca_common.sh.
CERTAD="${CERTA_BIN}/certad"
[ -x "$CERTAD" ] || fail "certad is not built ($CERTAD)"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
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

CERTAD_PID=
start_certad() { # start_certad CA_DIR
  "$CERTAD" --dir "$1" --listen "127.0.0.1:$PORT" >"$T/certad.log" 2>&1 &
  CERTAD_PID=$!
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "$BASE/healthz" 2>/dev/null && return 0
    kill -0 "$CERTAD_PID" 2>/dev/null || { cat "$T/certad.log" >&2; fail "certad exited"; }
    sleep 0.1
  done
  cat "$T/certad.log" >&2
  fail "certad did not answer on $BASE"
}
stop_certad() {
  if [ -n "$CERTAD_PID" ]; then
    kill "$CERTAD_PID" 2>/dev/null || true
    wait "$CERTAD_PID" 2>/dev/null || true
    CERTAD_PID=
  fi
}
trap 'stop_certad; rm -rf "$T"' EXIT
# Row counts that a refused request must leave as they were.
store_state() {
  sqlite3 "$1/ca.db" "SELECT (SELECT count(*) FROM certificates) || ' ' ||
    (SELECT count(*) FROM requests) || ' ' || (SELECT count(*) FROM revocations) || ' ' ||
    (SELECT coalesce(group_concat(name || '=' || value), '') FROM counters)"
}
