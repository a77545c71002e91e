# Shared by tests/integration/test_certad_*.sh: starts certad on free
# loopback ports and stops it on exit. Sourced after ca_common.sh.
CERTAD="${CERTA_BIN}/certad"
CERTAD_PID=


# Stops certad with SIGTERM; it must exit 0 (a sanitizer finding would not).
# "stop_certad quiet" (on exit) only stops it.
stop_certad() {
  local rc=0 pid=$CERTAD_PID
  CERTAD_PID=
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || rc=$?
  [ "${1:-}" = quiet ] && return 0
  if [ $rc != 0 ] || grep -q 'Sanitizer\|runtime error:' "$T/certad.log" 2>/dev/null; then
    cat "$T/certad.log" >&2
    fail "certad exited with status $rc"
  fi
}
trap 'stop_certad quiet; rm -rf "$T"' EXIT

# start_certad URL ARGS...: runs certad with ARGS (stderr to $T/certad.log)
# and waits until URL/healthz answers.
start_certad() {
  local url=$1; shift
  "$CERTAD" "$@" 2>>"$T/certad.log" &
  CERTAD_PID=$!
  # Long enough for a first start that makes keys (the SCEP RA's RSA key).
  for _ in $(seq 1 300); do
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
