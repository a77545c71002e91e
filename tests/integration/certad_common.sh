# Shared by tests/integration/test_certad_*.sh: starts certad on free
# loopback ports and stops it on exit. Sourced after ca_common.sh.
CERTAD="${CERTA_BIN}/certad"
CERTAD_PID=

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

stop_certad() {
  if [ -n "$CERTAD_PID" ] && kill -0 "$CERTAD_PID" 2>/dev/null; then
    kill "$CERTAD_PID" 2>/dev/null || true
    wait "$CERTAD_PID" 2>/dev/null || true
  fi
  CERTAD_PID=
}
trap 'stop_certad; rm -rf "$T"' EXIT

# start_certad URL ARGS...: runs certad with ARGS (stderr to $T/certad.log)
# and waits until URL/healthz answers.
start_certad() {
  local url=$1; shift
  "$CERTAD" "$@" 2>>"$T/certad.log" &
  CERTAD_PID=$!
  for _ in $(seq 1 100); do
    curl -s -o /dev/null -k "$url/healthz" && return 0
    kill -0 "$CERTAD_PID" 2>/dev/null || { cat "$T/certad.log" >&2; fail "certad did not start"; }
    sleep 0.05
  done
  cat "$T/certad.log" >&2
  fail "certad did not answer at $url"
}

# A fresh CA under $T/ca.
make_ca() {
  "$CERTA" ca init --dir "${1:-$T/ca}" --subject "CN=certad Test CA,O=certa tests" "${@:2}" >/dev/null
}
