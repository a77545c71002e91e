# Shared by tests/integration/test_scep_*.sh: CAs for the two SCEP set-ups
# (an RSA CA alone; an EC CA answering through its RSA RA certificate),
# certad started on free loopback ports (all stopped on exit), row counts
# and certificate checks with openssl. Sourced, not run.
source "$(dirname "$0")/ca_common.sh"
CERTAD="${CERTA_BIN}/certad"
[ -x "$CERTAD" ] || { echo "SKIP: this build has no certad"; exit 77; }
SCEP_PIDS=()
scep_cleanup() {
  for p in "${SCEP_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${SCEP_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$T"
}
trap scep_cleanup EXIT


# new_ca DIR KEYSPEC: a CA made by certa ca init.
new_ca() {
  "$CERTA" ca init --dir "$1" --subject "CN=SCEP Test CA $(basename "$1"),O=certa tests" --key "$2" >/dev/null
}

# start_certad DIR PORT [INI LINES...]: certad for the CA in DIR on
# 127.0.0.1:PORT with a config file made of the given lines (e.g. "[scep]"
# "legacy = yes"); log in DIR.certad.log. Waits for /healthz.
start_certad() {
  local dir=$1 port=$2; shift 2
  printf '%s\n' "[server]" "idle_timeout = 120" "$@" >"$dir.certad.ini"
  "$CERTAD" --config "$dir.certad.ini" --dir "$dir" --listen "127.0.0.1:$port" 2>>"$dir.certad.log" &
  SCEP_PIDS+=($!)
  local pid=$!
  for _ in $(seq 1 200); do
    curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$dir.certad.log" >&2; fail "certad did not start"; }
    sleep 0.05
  done
  fail "certad did not answer on port $port"
}

# stop_certad: stops the certad started last.
stop_certad() {
  local pid=${SCEP_PIDS[-1]}
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  unset 'SCEP_PIDS[-1]'
}

# check_cert CA_DIR FILE [DER]: the certificate verifies against the CA with
# openssl and is recorded in the store.
check_cert() {
  local ca=$1 f=$2 form=${3:-PEM}
  openssl x509 -inform "$form" -in "$f" -out "$f.pem" || fail "$f is not a certificate"
  openssl verify -CAfile "$ca/ca.crt" "$f.pem" >/dev/null || fail "$f does not verify against $ca"
  local serial
  serial=$(openssl x509 -in "$f.pem" -noout -serial | sed 's/serial=//' | tr A-F a-f | sed 's/^0*//')
  [ "$(sqlite3 "$ca/ca.db" "SELECT count(*) FROM certificates WHERE serial='$serial'")" = 1 ] \
    || fail "$f (serial $serial) is not in the store"
}

# requester_of CA_DIR SUBJECT_SUBSTRING: the requester recorded for the
# latest SCEP request with that subject.
requester_of() {
  sqlite3 "$1/ca.db" "SELECT requester FROM requests WHERE protocol='scep' AND subject LIKE '%$2%' ORDER BY id DESC LIMIT 1"
}

# log_has CA_DIR TEXT: certad's log for that CA has a line with TEXT.
log_has() {
  log_wait "$1.certad.log" "$2" || { tail -5 "$1.certad.log" >&2; fail "certad log lacks '$2'"; }
}

ra_fingerprint() {
  openssl x509 -in "$1/scep-ra.crt" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g'
}
