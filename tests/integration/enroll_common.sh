# Shared by tests/integration/test_enroll_*.sh: a scratch state, peers that
# are stopped on exit, free loopback ports, micromdm's scepserver, and
# assertions that a refused enrollment changed no file. Sourced, not run.
set -euo pipefail
CERTA="${CERTA_BIN:?CERTA_BIN must name the build directory}/certa"
mkdir -p "${CERTA_TEST_TMP:-/tmp}"
T=$(mktemp -d "${CERTA_TEST_TMP:-/tmp}/$(basename "$0" .sh).XXXXXX")
export CERTA_STATE="$T/state"
PIDS=()
CLEANUPS=()
cleanup() {
    local p c
    for c in "${CLEANUPS[@]}"; do eval "$c" || true; done
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$T"
}
trap cleanup EXIT
cd "$T"

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok - $*"; }
# free_port: a loopback port for a server of this test (free_port.py).
free_port() { python3 "$(dirname "${BASH_SOURCE[0]}")/free_port.py"; }
# Waits until an HTTP server answers on url (any status).
wait_http() {
    local url=$1 i
    for i in $(seq 1 100); do
        curl -s -o /dev/null --max-time 1 "$url" && return 0
        sleep 0.1
    done
    fail "no server at $url"
}
# Starts micromdm's scepserver with a new RSA CA in DIR on PORT (challenge pw).
start_scepserver() {
    local dir=$1 port=$2; shift 2
    mkdir -p "$dir"
    (cd "$dir" && scepserver ca -init >/dev/null 2>&1)
    (cd "$dir" && exec scepserver -depot depot -port "$port" -challenge pw "$@" >server.log 2>&1) &
    PIDS+=($!)
    wait_http "http://127.0.0.1:$port/scep?operation=GetCACaps"
}
# Checksums of every file in the state directory.
snapshot() { (cd "$CERTA_STATE" && find . -type f -exec sha256sum {} + | sort) >"$1"; }
# expect_fail CODE TEXT CMD...: the command exits CODE with one stderr line
# containing TEXT, and no file of the state changed.
expect_fail() {
    local code=$1 want=$2 rc=0; shift 2
    snapshot "$T/before.sum"
    "$@" >"$T/out" 2>"$T/err" </dev/null || rc=$?
    snapshot "$T/after.sum"
    [ "$rc" -ne 0 ] || fail "$*: succeeded"
    [ "$rc" -eq "$code" ] || { cat "$T/err" >&2; fail "$*: exit $rc, want $code"; }
    [ "$(wc -l <"$T/err")" -eq 1 ] || { cat "$T/err" >&2; fail "$*: expected one line on stderr"; }
    grep -q -- "$want" "$T/err" || { cat "$T/err" >&2; fail "$*: error does not say '$want'"; }
    cmp -s "$T/before.sum" "$T/after.sum" || { diff "$T/before.sum" "$T/after.sum" >&2; fail "$*: state changed"; }
}
